"""Packages and the Cython box-overlap kernel of eval_tools (metadata lives in pyproject.toml).

``deploy/python/`` is PaddleDetection's place for the standalone predictor; it installs as the package
``ppdet_face_deploy`` (which imports neither ppdet nor ppdet_face).
"""
import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_namespace_packages, find_packages, setup

extensions = [
    Extension(
        "eval_tools._box_overlaps",
        ["eval_tools/_box_overlaps.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O3"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
]

# Data-only folders (the bundled models of tools/export_bundled.py, the custom op's C++ source) are listed as
# (namespace) packages so setuptools ships them without "package would be ignored" warnings.
_MODEL_FOLDERS = ["ppdet_face_deploy." + name
                  for name in find_namespace_packages(where="deploy/python", include=["models", "models.*"])]

setup(
    packages=find_packages(include=["ppdet_face", "ppdet_face.*", "eval_tools", "eval_tools.*"])
    + ["ppdet_face.ops.csrc", "ppdet_face_deploy", *_MODEL_FOLDERS],
    package_dir={"ppdet_face_deploy": "deploy/python"},
    # the bundled real-face models (tools/export_bundled.py)
    package_data={"ppdet_face_deploy": ["models/*/*"], "ppdet_face.ops.csrc": ["*.cc"]},
    ext_modules=cythonize(extensions, language_level=3, quiet=True),
)
