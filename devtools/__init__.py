"""Helpers for tests and benchmarks only; not part of the installed packages.

Importable from the repository root: by the tests through pytest's ``pythonpath = ["."]``
(pyproject.toml) and by the benchmarks through ``sys.path.insert(0, str(REPO))``.

* :mod:`devtools.upstream`: PaddleDetection's own BlazeFace, the reference of the parity tests and
  of ``benchmarks/train_speed.py``.
* :mod:`devtools.flops`: FLOPs of ONNX graphs (``python -m devtools.flops model.onnx``).
* :mod:`devtools.synthetic_predictions`: seeded synthetic WIDER FACE predictions for the evaluator.
"""
