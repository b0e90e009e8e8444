"""ppdet-face: BlazeFace-FPN-SSH face detection on PaddlePaddle 3 + PaddleDetection.

``import ppdet_face`` applies the named PaddleDetection compatibility fixes
(:mod:`ppdet_face.compat`) and registers every component into ppdet's workspace.
"""
from . import (  # noqa: F401  (registration side effects)
    compat,  # noqa: F401  (must run before ppdet's trainer is used)
    data,
    modeling,
)

__version__ = "0.1.0"
