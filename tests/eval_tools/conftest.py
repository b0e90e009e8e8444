"""Fixtures of the eval_tools tests: shared material location and the Cython backend."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from ppdet_face.utils.shared import shared_dir

REPO = Path(__file__).resolve().parents[2]
# Import the in-tree package even under a bare `pytest` (no editable install, cwd not on sys.path):
# otherwise `eval_tools` could resolve to this test folder as a namespace package.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared real test material; skip (visibly) when it is absent."""
    path = shared_dir()
    if not (path / "data").is_dir():
        pytest.skip(f"shared test material not found at {path} "
                    "(set PPDET_FACE_SHARED to the shared/ folder)")
    return path


@pytest.fixture(scope="session")
def wider_mat_dir(shared) -> Path:
    """Folder of the official WIDER FACE val ``.mat`` ground truth."""
    return _shared_folder(shared, "wider_face_eval_gt", "wider_face_val.mat", "official WIDER .mat ground truth")


@pytest.fixture(scope="session")
def wider_subset_dir(shared) -> Path:
    """The 9-image WIDER val subset."""
    return _shared_folder(shared, "wider_face_val_subset", "wider_face_split/wider_face_val_bbx_gt.txt",
                          "WIDER val subset")


def _shared_folder(shared, name, marker, what) -> Path:
    """``shared/data/<name>``; skip (with the reason) when its ``marker`` file is absent."""
    path = shared / "data" / name
    if not (path / marker).is_file():
        pytest.skip(f"{what} not found in {path}")
    return path


def _build_cython_extension(build_root: Path) -> Path:
    """Compile eval_tools/_box_overlaps.pyx out of tree (under ``build_root``); return the .so."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    ext = Extension("eval_tools._box_overlaps", [str(REPO / "eval_tools" / "_box_overlaps.pyx")],
                    include_dirs=[np.get_include()], extra_compile_args=["-O3"],
                    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")])
    dist = Distribution({"ext_modules": cythonize([ext], build_dir=str(build_root / "c"),
                                                  language_level=3, quiet=True)})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = str(build_root / "lib")
    cmd.build_temp = str(build_root / "tmp")
    cmd.inplace = False
    dist.run_command("build_ext")
    return Path(cmd.get_ext_fullpath("eval_tools._box_overlaps"))


@pytest.fixture(scope="session")
def cython_backend(tmp_path_factory):
    """The Cython IoU backend; compiled out of tree when the in-place build is absent."""
    from eval_tools import get_backend

    try:
        return get_backend("cython")
    except ImportError as first:
        try:
            so = _build_cython_extension(tmp_path_factory.mktemp("cython_build"))
            spec = importlib.util.spec_from_file_location("eval_tools._box_overlaps", so)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except Exception as exc:  # no compiler, no Cython, ...
            pytest.skip(f"Cython kernel not built ({first}) and out-of-tree build failed: {exc}")
        sys.modules["eval_tools._box_overlaps"] = module
        return get_backend("cython")


@pytest.fixture(scope="session")
def fddb_dir(shared) -> Path:
    """FDDB folds, three published detection files and the official program's ROC for pyface."""
    return _shared_folder(shared, "fddb", "FDDB-folds/FDDB-fold-01-ellipseList.txt", "FDDB folds")
