"""Write docs/api.md, the reference of the inference API and the ``ppdet-face`` command, from their docstrings and
``--help`` (``python -m devtools.api_doc``); tests/devtools/test_api_doc.py checks that the file is current."""
import contextlib
import inspect
import io
import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
API_DOC = REPO / "docs" / "api.md"


def _doc(obj):
    return inspect.cleandoc(obj.__doc__ or "")


def _class_section(cls):
    lines = [f"## `{cls.__module__.split('.')[0]}.{cls.__name__}{inspect.signature(cls)}`", "", "```text",
             _doc(cls), "```", ""]
    for name, member in cls.__dict__.items():
        if name.startswith("_") or not (callable(member) or isinstance(member, property)):
            continue
        head = f"`.{name}`" if isinstance(member, property) else f"`.{name}{inspect.signature(member)}`"
        lines += [f"### {head}", "", "```text", _doc(member), "```", ""]
    return lines


def _help(argv):
    from ppdet_face_deploy.cli import parse_args

    out, columns = io.StringIO(), os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal's width: the same text everywhere
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            parse_args(argv)
    finally:
        os.environ.pop("COLUMNS") if columns is None else os.environ.update(COLUMNS=columns)
    return ["```text", out.getvalue().rstrip(), "```", ""]


def render():
    """The markdown text of docs/api.md."""
    from ppdet_face_deploy import api, cli
    from ppdet_face_deploy.runners import DetectorOptions

    lines = ["# Inference API and command line", "",
             "Generated from the docstrings by `python -m devtools.api_doc` (do not edit by hand). Installed by",
             "`pip install .` as the package `ppdet_face_deploy` (from `deploy/python/`), which imports neither ppdet",
             "nor ppdet_face.", "", "```text", _doc(api), "```", ""]
    for cls in (api.FaceDetector, api.Faces, DetectorOptions):
        lines += _class_section(cls)
    lines += ["## `ppdet-face`", "", "```text", _doc(cli), "```", ""]
    for argv in (["--help"], ["detect", "--help"], ["models", "--help"]):
        lines += [f"### `ppdet-face {' '.join(argv)}`", "", *_help(argv)]
    return "\n".join(lines).rstrip() + "\n"


def main():
    API_DOC.write_text(render(), encoding="utf-8")
    print(f"wrote {API_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
