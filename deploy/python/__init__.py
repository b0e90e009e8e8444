"""ppdet_face_deploy: face detection with exported models, standalone (imports neither ppdet nor ppdet_face).

Installed from ``deploy/python/`` (PaddleDetection's place for the predictor) by ``pip install .``; its only
contract with training is the exported folder (model files + ``infer_cfg.yml``). Depends on numpy, OpenCV, PyYAML,
tqdm and one runtime: openvino, onnxruntime or paddlepaddle (Paddle Inference).

    from ppdet_face_deploy import FaceDetector         # the one-line API (bundled models, api.py)
    faces = FaceDetector().detect("photo.jpg")
    from ppdet_face_deploy.infer import Detector        # the predictor over any export folder
    ppdet-face detect photo.jpg --save out/              # the command line (cli.py)
    python deploy/python/infer.py --model_dir <dir> --image_file <img>   # PaddleDetection's flags
"""
from .api import FaceDetector, Faces
from .bundled import BUNDLED_MODELS, DEFAULT_MODEL
from .preprocess import DeployError

__all__ = ["BUNDLED_MODELS", "DEFAULT_MODEL", "DeployError", "FaceDetector", "Faces"]
__version__ = "0.1.0"
