"""One logger setup for tools and library (ppdet's format, our namespace)."""
import logging
import sys

__all__ = ["get_logger"]

_FORMAT = "[%(asctime)s] %(name)s %(levelname)s: %(message)s"


def get_logger(name="ppdet_face"):
    """Return a logger under ``ppdet_face`` that prints INFO and above to stdout once."""
    root = logging.getLogger("ppdet_face")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%m/%d %H:%M:%S"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
    if not name.startswith("ppdet_face"):
        name = "ppdet_face." + name
    return logging.getLogger(name)
