"""Model components of ppdet_face; importing registers them in ppdet's workspace."""
from .blaze_neck import BlazeFaceNeck
from .blazeface import BlazeFaceDetector
from .blazenet import BlazeFaceBackbone
from .detector import FaceDetector
from .face_head import BlazeFaceAnchors, BlazeFaceHead
from .face_loss import BlazeFaceSSDLoss
from .post_process import BlazeFacePostProcess
from .ssh import SSHDetector, SSHLoss, SSHNeck
from .vision_backbones import VisionMobileNetV1, VisionMobileNetV2, VisionResNet50, VisionVGG16

__all__ = ["FaceDetector", "BlazeFaceBackbone", "BlazeFaceNeck", "BlazeFaceHead", "BlazeFaceAnchors",
           "BlazeFaceSSDLoss",
           "BlazeFacePostProcess", "BlazeFaceDetector", "SSHDetector", "SSHNeck", "SSHLoss",
           "VisionVGG16", "VisionResNet50", "VisionMobileNetV1", "VisionMobileNetV2"]
