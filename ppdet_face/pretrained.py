"""The real-face models bundled in ``pretrained/``: one entry each (config, weights, model card).

Tools, benchmarks and the demo look a bundled model up here by name instead of spelling its paths::

    from ppdet_face.pretrained import DEFAULT_MODEL, bundled_model
    model = bundled_model(DEFAULT_MODEL)      # PaddleDetection's published BlazeFace-FPN-SSH
    model.config, model.weights, model.card   # absolute paths

Title, config, licence and measured accuracy live in each model card's front matter (``pretrained/<name>.md``),
not here.
"""
from __future__ import annotations

import dataclasses
import functools
import pathlib

from ppdet_face_deploy.bundled import BUNDLED_MODELS as _BUNDLED_NAMES
from ppdet_face_deploy.bundled import DEFAULT_MODEL

from .modeling.layers import check_choice

__all__ = ["BundledModel", "BUNDLED_MODELS", "DEFAULT_MODEL", "bundled_model"]

REPO = pathlib.Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class BundledModel:
    """A model shipped in ``pretrained/``: ``<name>.safetensors`` and its model card ``<name>.md``, whose front
    matter holds the facts (title, config, licence, measured AP), read by :attr:`info`.

    Args:
        name (str): the key (the file stem of its weights and model card).
    """

    name: str

    @property
    def weights(self) -> pathlib.Path:
        """The ``.safetensors`` weights file (absolute)."""
        return REPO / "pretrained" / f"{self.name}.safetensors"

    @property
    def card(self) -> pathlib.Path:
        """The model card (absolute)."""
        return REPO / "pretrained" / f"{self.name}.md"

    @functools.cached_property
    def info(self) -> dict:
        """The model card's front matter (``ppdet_face_deploy.cards.read_card``)."""
        from ppdet_face_deploy.cards import read_card

        return read_card(str(self.card))

    @property
    def title(self) -> str:
        """A short human name for tables and pictures."""
        return self.info["title"]

    @property
    def licence(self) -> str:
        """One line on the weights' licence."""
        return self.info["licence"]

    @property
    def config_file(self) -> str:
        """Its config, relative to the repository root."""
        return self.info["config"]

    @property
    def config(self) -> pathlib.Path:
        """The config file (absolute)."""
        return REPO / self.config_file


#: name -> bundled model (the names and the default are declared once, in ``ppdet_face_deploy.bundled``).
BUNDLED_MODELS = {name: BundledModel(name) for name in _BUNDLED_NAMES}


def bundled_model(name: str) -> BundledModel:
    """The bundled model called ``name``.

    Raises:
        ValueError: ``name`` is not bundled (the message lists the bundled names).
    """
    return BUNDLED_MODELS[check_choice("model", name, BUNDLED_MODELS)]
