"""Standalone Python predictor for folders written by tools/export_model.py.

``from deploy.python.infer import Detector`` (from the repository root), or run
``python deploy/python/infer.py --model_dir <dir> --image_file <img>``. Depends on numpy,
OpenCV, PyYAML, tqdm and either paddlepaddle (Paddle Inference) or onnxruntime; never on
ppdet or ppdet_face.
"""
