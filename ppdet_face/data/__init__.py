"""Datasets and data generators of ppdet_face."""
from .wider import AnnotationError, WIDERFaceDetDataset, parse_wider_annotations

__all__ = ["AnnotationError", "WIDERFaceDetDataset", "parse_wider_annotations"]
