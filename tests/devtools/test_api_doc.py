"""docs/api.md is the current rendering of the inference API's docstrings and the command's --help."""
from devtools.api_doc import API_DOC, render


def test_api_reference_is_current():
    assert API_DOC.read_text(encoding="utf-8") == render(), "docs/api.md is stale: python -m devtools.api_doc"
