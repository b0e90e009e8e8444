"""Paths shared by the tests (importable because tests/ is on sys.path via its conftest)."""
import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def shared_dir():
    """The ../shared folder (override with PPDET_FACE_SHARED)."""
    return pathlib.Path(os.environ.get("PPDET_FACE_SHARED", REPO.parent / "shared")).resolve()
