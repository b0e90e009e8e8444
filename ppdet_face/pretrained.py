"""The real-face models bundled in ``pretrained/``: one entry each (config, weights, model card).

Tools, benchmarks and the demo look a bundled model up here by name instead of spelling its paths::

    from ppdet_face.pretrained import DEFAULT_MODEL, bundled_model
    model = bundled_model(DEFAULT_MODEL)      # PaddleDetection's published BlazeFace-FPN-SSH
    model.config, model.weights, model.card   # absolute paths

Measured accuracy lives in each model card (``pretrained/<name>.md``), not here.
"""
from __future__ import annotations

import dataclasses
import pathlib

from .modeling.layers import check_choice

__all__ = ["BundledModel", "BUNDLED_MODELS", "DEFAULT_MODEL", "bundled_model"]

REPO = pathlib.Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class BundledModel:
    """A model shipped in ``pretrained/``.

    Args:
        name (str): the key (also the file stem of its weights and model card).
        title (str): a short human name for tables and pictures.
        config_file (str): its config, relative to the repository root.
        licence (str): one line on the weights' licence.
    """

    name: str
    title: str
    config_file: str
    licence: str

    @property
    def config(self) -> pathlib.Path:
        """The config file (absolute)."""
        return REPO / self.config_file

    @property
    def weights(self) -> pathlib.Path:
        """The ``.safetensors`` weights file (absolute)."""
        return REPO / "pretrained" / f"{self.name}.safetensors"

    @property
    def card(self) -> pathlib.Path:
        """The model card (absolute)."""
        return REPO / "pretrained" / f"{self.name}.md"


_WIDER = "trained on WIDER FACE images: non-commercial research use"
#: name -> bundled model; the first is the default real-face model.
BUNDLED_MODELS = {m.name: m for m in (
    BundledModel("blazeface_fpn_ssh_1000e", "BlazeFace-FPN-SSH (PaddleDetection, published)",
                 "configs/face_detection/blazeface_fpn_ssh_1000e.yml", f"Apache-2.0 (PaddleDetection); {_WIDER}"),
    BundledModel("blazeface_1000e", "BlazeFace (PaddleDetection, published)",
                 "configs/face_detection/blazeface_1000e.yml", f"Apache-2.0 (PaddleDetection); {_WIDER}"),
    BundledModel("blazeface_fpn_ssh_wider_real", "BlazeFace-FPN-SSH (trained here, 1,100 images)",
                 "configs/face_detection/blazeface_fpn_ssh_wider_real.yml", _WIDER),
)}
#: The default real-face model: PaddleDetection's published BlazeFace-FPN-SSH.
DEFAULT_MODEL = "blazeface_fpn_ssh_1000e"


def bundled_model(name: str) -> BundledModel:
    """The bundled model called ``name``.

    Raises:
        ValueError: ``name`` is not bundled (the message lists the bundled names).
    """
    return BUNDLED_MODELS[check_choice("model", name, BUNDLED_MODELS)]
