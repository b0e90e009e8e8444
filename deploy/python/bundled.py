"""The real-face models shipped inside this package (``models/<name>/``: exported by tools/export_bundled.py from
``pretrained/<name>.safetensors``), found by name without an export step.

The one list of bundled model names and the default; ``ppdet_face.pretrained`` (weights, configs) reads it too.
"""
import os

from .cards import CARD_FILE, read_card
from .preprocess import DeployError

__all__ = ["ALIASES", "BUNDLED_MODELS", "DEFAULT_MODEL", "MODELS_DIR", "bundled_cards", "resolve_model"]

#: The bundled models, the default first: PaddleDetection's published BlazeFace-FPN-SSH and BlazeFace (WIDER
#: FACE, 1000 epochs), the BlazeFace-FPN-SSH trained here on 1,100 real images (the from-scratch reference) and the
#: published BlazeFace-FPN-SSH with five landmarks per face (fine-tuned here).
BUNDLED_MODELS = ("blazeface_fpn_ssh_1000e", "blazeface_1000e", "blazeface_fpn_ssh_wider_real",
                  "blazeface_fpn_ssh_kps_wider_real")
#: The default real-face model.
DEFAULT_MODEL = BUNDLED_MODELS[0]
#: Short names: a family -> its published model.
ALIASES = {"blazeface_fpn_ssh": "blazeface_fpn_ssh_1000e", "blazeface": "blazeface_1000e",
           "blazeface_fpn_ssh_kps": "blazeface_fpn_ssh_kps_wider_real"}
#: Where the bundled exports live (inside the installed package).
MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")


def resolve_model(model):
    """The export folder of ``model``.

    Args:
        model (str|os.PathLike): a bundled model name (:data:`BUNDLED_MODELS`), a short name (:data:`ALIASES`)
            or the path of a folder written by tools/export_model.py.

    Returns:
        str: a folder with ``infer_cfg.yml``.

    Raises:
        DeployError: neither a bundled name nor an export folder (the message lists the names), or a bundled
            model whose files are missing from this installation.
    """
    text = os.fspath(model)
    if os.path.isdir(text):
        if not os.path.isfile(os.path.join(text, "infer_cfg.yml")):
            raise DeployError(f"{text}: no infer_cfg.yml (a model folder is written by tools/export_model.py)")
        return text
    name = ALIASES.get(text, text)
    if name not in BUNDLED_MODELS:
        raise DeployError(f"model {text!r} is neither a bundled model nor an export folder; bundled: "
                          f"{', '.join(BUNDLED_MODELS)} (short: {', '.join(ALIASES)})")
    folder = os.path.join(MODELS_DIR, name)
    if not os.path.isfile(os.path.join(folder, "infer_cfg.yml")):
        raise DeployError(f"bundled model {name}: {folder} is missing from this installation "
                          "(in a checkout: python tools/export_bundled.py)")
    return folder


def bundled_cards():
    """``{name: model-card front matter}`` of the bundled models, in :data:`BUNDLED_MODELS` order.

    Raises:
        DeployError: a bundled model or its card is missing.
    """
    return {name: read_card(os.path.join(resolve_model(name), CARD_FILE)) for name in BUNDLED_MODELS}
