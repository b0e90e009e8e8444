"""ppdet-face: BlazeFace-FPN-SSH face detection on PaddlePaddle 3 + PaddleDetection.

``import ppdet_face`` is cheap: it imports neither paddle nor ppdet, so light parts such as the synthetic data
generator (:mod:`ppdet_face.data.synthetic`) load without them. Components are registered into ppdet's workspace
by :func:`register`, which :func:`ppdet_face.engine.load_config` (every tool, the trainer, evaluation and export)
calls before ppdet parses a YAML; call it yourself before using ppdet's own ``load_config`` / ``create``.
"""

__version__ = "0.1.0"
__all__ = ["register"]


def register():
    """Apply the PaddleDetection fixes (:mod:`ppdet_face.compat`) and register every component (idempotent)."""
    from . import compat, modeling  # noqa: F401  (registration side effects)
    from .data import landmark_transforms, transforms, wider  # noqa: F401  (registration side effects)
