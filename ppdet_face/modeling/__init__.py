"""Model components of ppdet_face; importing registers them in ppdet's workspace."""
from .blaze_neck import BlazeFaceNeck
from .blazeface import BlazeFaceDetector
from .blazenet import BlazeFaceBackbone
from .detector import FaceDetector
from .face_head import BlazeFaceAnchors, BlazeFaceHead
from .face_loss import BlazeFaceSSDLoss
from .post_process import BlazeFacePostProcess

__all__ = ["FaceDetector", "BlazeFaceBackbone", "BlazeFaceNeck", "BlazeFaceHead", "BlazeFaceAnchors",
           "BlazeFaceSSDLoss",
           "BlazeFacePostProcess", "BlazeFaceDetector"]
