"""ImageNet backbones of ``paddle.vision.models`` exposing their stride 8 / 16 / 32 features.

The wrappers hold the unchanged ``paddle.vision`` network (built without its classifier) as ``body``
and only choose where each stride ends, so ``paddle.vision``'s ImageNet weights
(:data:`PRETRAINED_URLS`, what ``pretrained=True`` downloads) load through
:meth:`VisionBackbone.map_pretrained_keys`: ``<name>`` -> ``body.<name>``, the classifier dropped.
``ppdet_face.engine.weights.load_pretrain_weights`` uses it for ``pretrain_weights``.

Every wrapper takes ``freeze_norm`` (Default: False): BatchNorm layers then always normalise with their
(ImageNet) running statistics and their scale and shift are not trained, the usual detection practice when a
batch holds a few large images (SSH trains with 4); VGG16 has no BatchNorm.
"""
import paddle.nn as nn
from paddle.vision import models
from ppdet.core.workspace import register, serializable
from ppdet.modeling.shape_spec import ShapeSpec

__all__ = ["VisionBackbone", "VisionVGG16", "VisionResNet50", "VisionMobileNetV1", "VisionMobileNetV2",
           "PRETRAINED_URLS"]

#: paddle.vision's ImageNet weights of each wrapper (``paddle.vision.models.*.model_urls``).
PRETRAINED_URLS = {
    "VisionVGG16": "https://paddle-hapi.bj.bcebos.com/models/vgg16.pdparams",
    "VisionResNet50": "https://paddle-hapi.bj.bcebos.com/models/resnet50.pdparams",
    "VisionMobileNetV1": "https://paddle-hapi.bj.bcebos.com/models/mobilenetv1_1.0.pdparams",
    "VisionMobileNetV2": "https://paddle-hapi.bj.bcebos.com/models/mobilenet_v2_x1.0.pdparams",
}


class VisionBackbone(nn.Layer):
    """A ``paddle.vision`` network run stage by stage; returns the last feature map of each stage.

    Subclasses give :meth:`build_body` (the ``paddle.vision`` network, as ``self.body``), :meth:`split_stages`
    (lists of sub-layers of ``body`` run in order; stage ``i`` ends at stride ``STRIDES[i]``),
    :attr:`CHANNELS` and :attr:`CLASSIFIER`.
    ``forward({'image': x})`` returns ``[C8, C16, C32]``.

    Args (of every wrapper):
        freeze_norm (bool): BatchNorm always uses its running statistics and its scale / shift are not
            trained. Default: False.
    """

    STRIDES = (8, 16, 32)
    CHANNELS = ()
    #: name prefixes of the ImageNet classifier in ``paddle.vision``'s state dict (not in the backbone).
    CLASSIFIER = ()

    def __init__(self, freeze_norm=False):
        super().__init__()
        self.body = self.build_body()
        self.stages = self.split_stages(self.body)
        self.freeze_norm = bool(freeze_norm)
        if freeze_norm:
            self._freeze_norms()

    def build_body(self):  # pragma: no cover - every wrapper overrides it
        raise NotImplementedError

    def split_stages(self, body):  # pragma: no cover - every wrapper overrides it
        raise NotImplementedError

    @property
    def out_shape(self):
        return [ShapeSpec(channels=c, stride=s) for c, s in zip(self.CHANNELS, self.STRIDES)]

    def _freeze_norms(self):
        """BatchNorm with fixed running statistics (also in training) and frozen scale / shift."""
        for layer in self.body.sublayers():
            if isinstance(layer, nn.BatchNorm2D):
                layer._use_global_stats = True
                layer.weight.stop_gradient = True
                layer.bias.stop_gradient = True

    def forward(self, inputs):
        x = inputs["image"]
        outs = []
        for stage in self.stages:
            for layer in stage:
                x = layer(x)
            outs.append(x)
        return outs

    def map_pretrained_keys(self, state):
        """``paddle.vision`` ImageNet state dict -> this backbone's names (classifier dropped).

        Args:
            state (dict): name -> array, as saved by the ``paddle.vision`` model.

        Returns:
            dict: ``body.<name>`` -> array, without the :attr:`CLASSIFIER` tensors.
        """
        return {f"body.{k}": v for k, v in state.items() if not k.startswith(self.CLASSIFIER)}


def _children(layer):
    return list(layer.children())


@register
@serializable
class VisionVGG16(VisionBackbone):
    """VGG16 (no BN) of ``paddle.vision``: conv4_3 (stride 8), conv5_3 (stride 16), max-pooled conv5_3
    (stride 32), as SSH uses it; 512 channels each."""

    CHANNELS = (512, 512, 512)
    CLASSIFIER = ("classifier.",)

    def build_body(self):
        return models.vgg16(pretrained=False, num_classes=0, with_pool=False)

    def split_stages(self, body):
        layers = _children(body.features)  # 13 conv+relu pairs and 5 max-pools
        return [layers[:23], layers[23:30], layers[30:]]


@register
@serializable
class VisionResNet50(VisionBackbone):
    """ResNet-50 of ``paddle.vision``: ``layer2`` (stride 8), ``layer3`` (16), ``layer4`` (32)."""

    CHANNELS = (512, 1024, 2048)
    CLASSIFIER = ("fc.",)

    def build_body(self):
        return models.resnet50(pretrained=False, num_classes=0, with_pool=False)

    def split_stages(self, b):
        return [[b.conv1, b.bn1, b.relu, b.maxpool, b.layer1, b.layer2], [b.layer3], [b.layer4]]


@register
@serializable
class VisionMobileNetV1(VisionBackbone):
    """MobileNetV1 (x1.0) of ``paddle.vision``: ``conv4_1`` (stride 8), ``conv5_5`` (16), ``conv6`` (32)."""

    CHANNELS = (256, 512, 1024)
    CLASSIFIER = ("fc.",)

    def build_body(self):
        return models.mobilenet_v1(pretrained=False, num_classes=0, with_pool=False)

    def split_stages(self, b):
        return [[b.conv1] + b.dwsl[:5], b.dwsl[5:11], b.dwsl[11:]]


@register
@serializable
class VisionMobileNetV2(VisionBackbone):
    """MobileNetV2 (x1.0) of ``paddle.vision``: the last 32-channel block (stride 8), the last 96-channel
    block (16) and the final 1x1 conv (32, 1280 channels)."""

    CHANNELS = (32, 96, 1280)
    CLASSIFIER = ("classifier.",)

    def build_body(self):
        return models.mobilenet_v2(pretrained=False, num_classes=0, with_pool=False)

    def split_stages(self, body):
        layers = _children(body.features)
        return [layers[:7], layers[7:14], layers[14:]]
