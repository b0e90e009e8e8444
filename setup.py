"""Build the Cython box-overlap kernel of eval_tools (metadata lives in pyproject.toml)."""
import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "eval_tools._box_overlaps",
        ["eval_tools/_box_overlaps.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O3"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
]

setup(ext_modules=cythonize(extensions, language_level=3, quiet=True))
