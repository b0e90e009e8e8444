"""FPN and SSH necks of BlazeFace-FPN-SSH.

Sub-layer names follow PaddleDetection's ``BlazeNeck`` (``fpn.conv{1,2,3}_fpn``,
``ssh{1,2}.conv{0..4}_ssh``) so its checkpoints load unchanged.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from ppdet.core.workspace import register, serializable
from ppdet.modeling.shape_spec import ShapeSpec

from .layers import ConvBN, check_choice

__all__ = ["BlazeFaceNeck", "FPN", "SSH", "NECK_TYPES"]

#: The neck layouts BlazeFaceNeck supports: PaddleDetection's ``BlazeNeck`` values (``"None"`` passes the
#: backbone's feature maps through, as its ``blazeface_1000e`` config does).
NECK_TYPES = ("fpn_ssh", "only_fpn", "only_ssh", "None")


class FPN(nn.Layer):
    """Two-level FPN: lateral 1x1 convs, nearest upsampling of the coarse level, 3x3 merge.

    Args:
        in_channels (list[int]): channels of the fine (stride 8) and coarse (stride 16) inputs.
        out_channels (int): channels of both outputs.

    ``forward([fine, coarse])`` returns ``(merged_fine, lateral_coarse)``, both ``out_channels``.
    """

    def __init__(self, in_channels, out_channels, conv_lr=0.1):
        super().__init__()
        self.conv1_fpn = ConvBN(in_channels[0], out_channels, 1, act="leaky_relu", conv_lr=conv_lr)
        self.conv2_fpn = ConvBN(in_channels[1], out_channels, 1, act="leaky_relu", conv_lr=conv_lr)
        self.conv3_fpn = ConvBN(out_channels, out_channels, 3, act="leaky_relu", conv_lr=conv_lr)

    def forward(self, inputs):
        fine = self.conv1_fpn(inputs[0])
        coarse = self.conv2_fpn(inputs[1])
        up = F.interpolate(coarse, size=paddle.shape(fine)[-2:], mode="nearest")
        fine = self.conv3_fpn(paddle.add(fine, up))
        return fine, coarse


class SSH(nn.Layer):
    """SSH context module: 3x3, 5x5 (two 3x3) and 7x7 (three 3x3) branches, concatenated.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels; must be divisible by 4 (branches get 1/2, 1/4, 1/4).

    ``forward(x)`` returns relu(concat(branches)) with ``out_channels`` channels.
    """

    def __init__(self, in_channels, out_channels, conv_lr=0.1):
        super().__init__()
        if out_channels % 4 != 0:
            raise ValueError(f"SSH out_channels must be divisible by 4, got {out_channels}")
        half, quarter = out_channels // 2, out_channels // 4
        self.conv0_ssh = ConvBN(in_channels, half, 3, act=None, conv_lr=conv_lr)
        self.conv1_ssh = ConvBN(half, quarter, 3, act="leaky_relu", conv_lr=conv_lr)
        self.conv2_ssh = ConvBN(quarter, quarter, 3, act=None, conv_lr=conv_lr)
        self.conv3_ssh = ConvBN(quarter, quarter, 3, act="leaky_relu", conv_lr=conv_lr)
        self.conv4_ssh = ConvBN(quarter, quarter, 3, act=None, conv_lr=conv_lr)

    def forward(self, x):
        conv0 = self.conv0_ssh(x)
        conv1 = self.conv1_ssh(conv0)
        conv2 = self.conv2_ssh(conv1)
        conv3 = self.conv3_ssh(conv2)
        conv4 = self.conv4_ssh(conv3)
        return F.relu(paddle.concat([conv0, conv2, conv4], axis=1))


@register
@serializable
class BlazeFaceNeck(nn.Layer):
    """FPN and/or SSH over the two BlazeNet feature maps.

    Args:
        in_channels (list[int]): channels of the two backbone outputs; filled in from the
            backbone's ``out_shape`` by :meth:`from_config` (do not repeat them in YAML).
        neck_type (str): one of :data:`NECK_TYPES`: ``fpn_ssh``, ``only_fpn``, ``only_ssh`` or ``"None"``
            (identity, the same as leaving the detector's ``neck`` out). Default: "fpn_ssh".
        fpn_channels (int|None): FPN output channels. Default: None, meaning
            ``in_channels[1] // 2`` (48 for BlazeNet, PaddleDetection's choice).
        conv_lr (float): learning-rate multiplier of the conv weights. Default: 0.1 (PaddleDetection's).

    ``forward(feats)`` returns two feature maps whose channels are :attr:`out_shape`.
    """

    def __init__(self, in_channels=(96, 96), neck_type="fpn_ssh", fpn_channels=None, conv_lr=0.1):
        super().__init__()
        self.neck_type = check_choice("neck_type", neck_type, NECK_TYPES)
        if len(in_channels) != 2:
            raise ValueError(f"BlazeFaceNeck takes two feature maps, got in_channels={in_channels}")
        channels = list(in_channels)
        if neck_type in ("fpn_ssh", "only_fpn"):
            fpn_channels = fpn_channels or channels[1] // 2
            self.fpn = FPN(channels, fpn_channels, conv_lr=conv_lr)
            channels = [fpn_channels, fpn_channels]
        if neck_type in ("fpn_ssh", "only_ssh"):
            self.ssh1 = SSH(channels[0], channels[0], conv_lr=conv_lr)
            self.ssh2 = SSH(channels[1], channels[1], conv_lr=conv_lr)
        self._out_channels = channels

    @classmethod
    def from_config(cls, cfg, input_shape):
        return {"in_channels": [s.channels for s in input_shape]}

    def forward(self, feats):
        """Returns the two output feature maps (channels :attr:`out_shape`)."""
        if self.neck_type == "None":
            return list(feats)
        if self.neck_type != "only_ssh":
            feats = self.fpn(feats)
        if self.neck_type == "only_fpn":
            return list(feats)
        return [self.ssh1(feats[0]), self.ssh2(feats[1])]

    @property
    def out_shape(self):
        return [ShapeSpec(channels=c) for c in self._out_channels]
