"""Model cards: a markdown file whose YAML front matter (between two ``---`` lines at the top) holds the
card's facts (name, title, config, licence, measured AP). ``pretrained/<name>.md`` is the source; every
bundled export carries a copy as ``model_card.md``."""
import os

import yaml

from .preprocess import DeployError

__all__ = ["CARD_FILE", "REQUIRED_KEYS", "read_card"]

#: The model card's file name inside an export folder.
CARD_FILE = "model_card.md"
#: Keys every card's front matter has.
REQUIRED_KEYS = ("name", "title", "config", "licence", "wider_real_ap")


def read_card(path):
    """The front matter of the model card at ``path``.

    Args:
        path (str): a markdown model card.

    Returns:
        dict: its YAML front matter (``name``, ``title``, ``config``, ``licence``, ``wider_real_ap`` with
        ``single_scale`` / ``multi_scale`` lists of easy, medium, hard AP, ...).

    Raises:
        DeployError: no such file, no front matter, or a required key missing.
    """
    if not os.path.isfile(path):
        raise DeployError(f"{path}: model card not found")
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    head, sep, rest = text.partition("\n---\n")
    if not head.startswith("---\n") or not sep:
        raise DeployError(f"{path}: no front matter (a YAML block between '---' lines at the top)")
    info = yaml.safe_load(head[4:]) or {}
    missing = [k for k in REQUIRED_KEYS if k not in info]
    if missing:
        raise DeployError(f"{path}: front matter lacks {', '.join(missing)}")
    return info
