"""Old registered names of shared parts, kept for one release so that configs written before the rename load.

``BlazeFaceHead``, ``BlazeFaceAnchors`` and ``BlazeFacePostProcess`` serve BlazeFace and the SSH family alike and
were renamed :class:`~ppdet_face.modeling.face_head.FaceAnchorHead`, :class:`~ppdet_face.modeling.face_head.FaceAnchors`
and :class:`~ppdet_face.modeling.post_process.FacePostProcess`. Each old name is registered in ppdet's workspace (a
config section of that name configures it) as a subclass that warns when it is built; the configs in ``configs/`` use
the new names.
"""
import warnings

from ppdet.core.workspace import register, serializable

from .face_head import FaceAnchorHead, FaceAnchors
from .post_process import FacePostProcess

__all__ = ["RENAMED", "BlazeFaceAnchors", "BlazeFaceHead", "BlazeFacePostProcess"]

#: old registered name -> new name (removed in 0.3).
RENAMED = {"BlazeFaceHead": "FaceAnchorHead", "BlazeFaceAnchors": "FaceAnchors",
           "BlazeFacePostProcess": "FacePostProcess"}


class _Renamed:
    """Warns once per build that the class name is an old one (``__new__``: the constructor's signature, which
    ppdet reads for the config schema, stays the new class's)."""

    def __new__(cls, *args, **kwargs):
        old = cls.__name__
        warnings.warn(f"{old} was renamed {RENAMED[old]}: use the new name in your config ({old} is kept until "
                      "ppdet-face 0.3)", FutureWarning, stacklevel=3)
        return super().__new__(cls)


@register
class BlazeFaceHead(_Renamed, FaceAnchorHead):
    """Old name of :class:`~ppdet_face.modeling.face_head.FaceAnchorHead`."""


@register
@serializable
class BlazeFaceAnchors(_Renamed, FaceAnchors):
    """Old name of :class:`~ppdet_face.modeling.face_head.FaceAnchors`."""


@register
@serializable
class BlazeFacePostProcess(_Renamed, FacePostProcess):
    """Old name of :class:`~ppdet_face.modeling.post_process.FacePostProcess`."""
