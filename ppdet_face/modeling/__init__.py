"""Model components of ppdet_face; importing registers them in ppdet's workspace."""
from . import aliases  # noqa: F401  (registers the old names of renamed parts, for one release)
from .blaze_neck import BlazeFaceNeck
from .blazeface import BlazeFaceDetector
from .blazenet import BlazeFaceBackbone
from .detector import FaceDetector
from .face_head import FaceAnchorHead, FaceAnchors
from .face_loss import BlazeFaceSSDLoss
from .post_process import FacePostProcess
from .ssh import SSHDetector, SSHLoss, SSHNeck
from .vision_backbones import VisionMobileNetV1, VisionMobileNetV2, VisionResNet50, VisionVGG16

__all__ = ["FaceDetector", "BlazeFaceBackbone", "BlazeFaceNeck", "FaceAnchorHead", "FaceAnchors",
           "BlazeFaceSSDLoss",
           "FacePostProcess", "BlazeFaceDetector", "SSHDetector", "SSHNeck", "SSHLoss",
           "VisionVGG16", "VisionResNet50", "VisionMobileNetV1", "VisionMobileNetV2"]
