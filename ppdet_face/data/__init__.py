"""Datasets and data generators of ppdet_face.

The names below load on first use, so ``ppdet_face.data.synthetic`` (numpy + OpenCV) imports without ppdet;
importing :mod:`ppdet_face.data.transforms` / :mod:`ppdet_face.data.wider` registers the reader operators and
the dataset (:func:`ppdet_face.register`).
"""
import importlib

__all__ = ["AnnotationError", "BadImageError", "WIDERFaceDetDataset", "parse_wider_annotations"]

_HOME = {"AnnotationError": "wider", "BadImageError": "image_io", "WIDERFaceDetDataset": "wider",
         "parse_wider_annotations": "wider"}


def __getattr__(name):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
