"""The exports shipped in the deploy package (deploy/python/models/) are current: byte-identical to a fresh
export of pretrained/'s weights by tools/export_bundled.py (model.json up to Paddle's debug layer names), and each
carries its model card."""
import pathlib
import re

import pytest

from helpers import load_tool
from ppdet_face.pretrained import BUNDLED_MODELS, bundled_model
from ppdet_face_deploy.bundled import MODELS_DIR, resolve_model
from ppdet_face_deploy.cards import CARD_FILE, read_card


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundled")
    assert load_tool("export_bundled").main(["--output_dir", str(out)]) == 0
    return out


@pytest.mark.parametrize("name", BUNDLED_MODELS)
def test_shipped_export_equals_a_fresh_export(fresh, name):
    shipped = resolve_model(name)
    assert shipped.startswith(MODELS_DIR)
    files = sorted(p.name for p in (fresh / name).iterdir())
    assert files == ["infer_cfg.yml", "model.json", "model.onnx", "model.pdiparams", CARD_FILE]
    differ = [f for f in files if _content(pathlib.Path(shipped) / f) != _content(fresh / name / f)]
    assert not differ, f"{name}: {differ} differ from a fresh export; refresh with `make bundled-models`"


def _content(path):
    """The file's bytes; for model.json without the ``struct_name`` attributes (debug names of the traced layers,
    numbered by how many layers of a class this process has built)."""
    data = path.read_bytes()
    return re.sub(rb'\{"AT":\{"#":"0.a_str","D":"[^"]*"\},"N":"struct_name"\}', b"", data) \
        if path.name == "model.json" else data


@pytest.mark.parametrize("name", BUNDLED_MODELS)
def test_shipped_card_is_the_models_card(name):
    assert read_card(f"{resolve_model(name)}/{CARD_FILE}") == bundled_model(name).info
