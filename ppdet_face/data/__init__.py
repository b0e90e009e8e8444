"""Datasets and data generators of ppdet_face."""
from . import transforms  # noqa: F401  (registers the reader operators)
from .image_io import BadImageError
from .wider import AnnotationError, WIDERFaceDetDataset, parse_wider_annotations

__all__ = ["AnnotationError", "BadImageError", "WIDERFaceDetDataset", "parse_wider_annotations"]
