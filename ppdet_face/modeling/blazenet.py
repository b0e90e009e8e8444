"""BlazeNet backbone of BlazeFace (https://arxiv.org/abs/1907.05047).

Sub-layer names follow PaddleDetection's ``BlazeNet`` so that its checkpoints
(e.g. ``blazeface_fpn_ssh_1000e.pdparams``) load unchanged.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from ppdet.core.workspace import register, serializable
from ppdet.modeling.shape_spec import ShapeSpec

from .layers import ConvBN, check_choice

__all__ = ["BlazeFaceBackbone", "BlazeBlock"]

#: Activations of a double block's first pointwise conv: PaddleDetection's ``BlazeNet`` values (``leaky`` is
#: its spelling of leaky ReLU, ``None`` its default: linear), plus ``leaky_relu``, this package's spelling.
BACKBONE_ACTS = ("relu", "relu6", "leaky", "leaky_relu", "hard_swish", None)


class BlazeBlock(nn.Layer):
    """Single or double BlazeBlock with a (pooled) residual shortcut, as PaddleDetection's ``BlazeBlock``.

    Activations follow PaddleDetection exactly: every depthwise convolution, the shortcut convolution
    and a double block's second pointwise convolution use ReLU; the first pointwise convolution uses
    ``act`` in a double block and is linear in a single block (the paper's linear bottleneck); ReLU
    follows the residual addition.

    Args:
        in_channels (int): input channels.
        mid_channels (int): channels of the first depthwise + pointwise pair.
        out_channels (int): output channels of the first pointwise conv.
        double_channels (int|None): if set, a second depthwise + pointwise pair maps
            ``out_channels`` to ``double_channels`` (a "double" BlazeBlock). Default: None.
        stride (int): 1 or 2. Default: 1.
        use_5x5kernel (bool): one 5x5 depthwise conv, else two 3x3. Default: True.
        act (str|None): activation of the first pointwise conv of a double block, one of
            :data:`BACKBONE_ACTS` (``None``: linear). Default: "relu".
        name (str): prefix of the sub-layer names (PaddleDetection compatible).
        conv_lr (float): learning-rate multiplier of the conv weights. Default: 0.1.
    """

    def __init__(self, in_channels, mid_channels, out_channels, double_channels=None, stride=1,
                 use_5x5kernel=True, act="relu", name="blaze", conv_lr=0.1):
        super().__init__()
        check_choice("stride", stride, (1, 2))
        check_choice("act", act, BACKBONE_ACTS)
        self.use_pool = stride != 1
        self.use_double_block = double_channels is not None
        self.conv_lr = conv_lr
        self.conv_dw = self._depthwise(name + "1", in_channels, mid_channels, stride, use_5x5kernel)
        self.conv_pw = ConvBN(mid_channels, out_channels, 1, act=act if self.use_double_block else None,
                              conv_lr=conv_lr)
        if self.use_double_block:
            self.conv_dw2 = self._depthwise(name + "2", out_channels, out_channels, 1, use_5x5kernel)
            self.conv_pw2 = ConvBN(out_channels, double_channels, 1, act="relu", conv_lr=conv_lr)
        self.shortcut = []
        if self.use_pool:
            pool = nn.MaxPool2D(kernel_size=stride, stride=stride, ceil_mode=True)
            conv = ConvBN(in_channels, double_channels or out_channels, 1, act="relu", conv_lr=conv_lr)
            self.shortcut = [self.add_sublayer(name + "_shortcut_pool", pool),
                             self.add_sublayer(name + "_shortcut_conv", conv)]

    def _depthwise(self, prefix, in_channels, out_channels, stride, use_5x5kernel):
        lr = self.conv_lr
        if use_5x5kernel:
            conv = ConvBN(in_channels, out_channels, 5, stride, groups=out_channels, act="relu", conv_lr=lr)
            return [self.add_sublayer(prefix + "_dw", conv)]
        conv1 = ConvBN(in_channels, out_channels, 3, 1, groups=out_channels, act="relu", conv_lr=lr)
        conv2 = ConvBN(out_channels, out_channels, 3, stride, groups=out_channels, act="relu", conv_lr=lr)
        return [self.add_sublayer(prefix + "_dw_1", conv1), self.add_sublayer(prefix + "_dw_2", conv2)]

    def forward(self, x):
        """Returns relu(shortcut(x) + branch(x))."""
        y = x
        for layer in self.conv_dw:
            y = layer(y)
        y = self.conv_pw(y)
        if self.use_double_block:
            for layer in self.conv_dw2:
                y = layer(y)
            y = self.conv_pw2(y)
        for layer in self.shortcut:
            x = layer(x)
        return F.relu(paddle.add(x, y))


@register
@serializable
class BlazeFaceBackbone(nn.Layer):
    """BlazeNet: a stem conv, single BlazeBlocks, then double BlazeBlocks.

    Args:
        blaze_filters (list[list[int]]): per single block ``[mid, out]`` or ``[mid, out, stride]``.
            Default: ``[[24, 24], [24, 24], [24, 48, 2], [48, 48], [48, 48]]``.
        double_blaze_filters (list[list[int]]): per double block ``[in_mid, mid, out]`` or with a
            4th ``stride``. Default: ``[[48, 24, 96, 2], [96, 24, 96], [96, 24, 96],
            [96, 24, 96, 2], [96, 24, 96], [96, 24, 96]]``.
        use_5x5kernel (bool): 5x5 depthwise convs, else two stacked 3x3. Default: True.
        act (str|None): activation of the first pointwise conv of each double block (everything else
            uses ReLU, as in PaddleDetection), one of :data:`BACKBONE_ACTS`. PaddleDetection's
            FPN-SSH model and its published weights use ``hard_swish``; its plain BlazeFace ``relu``.
            Default: "relu".
        conv_lr (float): learning-rate multiplier of every conv weight. Default: 0.1
            (PaddleDetection's value; short schedules train faster with 1.0).

    ``forward(inputs)`` takes ``inputs['image']`` ([N, 3, H, W]) and returns two feature maps:
    the output of the 4th-from-last block (stride 8) and of the last block (stride 16), whose
    channels are :attr:`out_shape` (96 and 96 with the defaults).
    """

    def __init__(self,
                 blaze_filters=[[24, 24], [24, 24], [24, 48, 2], [48, 48], [48, 48]],
                 double_blaze_filters=[[48, 24, 96, 2], [96, 24, 96], [96, 24, 96],
                                       [96, 24, 96, 2], [96, 24, 96], [96, 24, 96]],
                 use_5x5kernel=True,
                 act="relu",
                 conv_lr=0.1):
        super().__init__()
        if len(double_blaze_filters) < 4:
            raise ValueError("double_blaze_filters needs at least 4 blocks (outputs are taken at blocks -4 and -1)")
        for i, v in enumerate(blaze_filters):
            if len(v) not in (2, 3):
                raise ValueError(f"blaze_filters[{i}]={v}: expected [mid, out] or [mid, out, stride]")
        for i, v in enumerate(double_blaze_filters):
            if len(v) not in (3, 4):
                raise ValueError(f"double_blaze_filters[{i}]={v}: expected [in_mid, mid, out] or with a stride")
        stem = blaze_filters[0][0] if blaze_filters else double_blaze_filters[0][0]
        self.conv1 = ConvBN(3, stem, 3, stride=2, act="relu", conv_lr=conv_lr)
        in_channels = stem
        stride_so_far = 2
        strides = []
        self.blocks = []
        for k, v in enumerate(blaze_filters):
            stride = v[2] if len(v) == 3 else 1
            name = f"blaze_{k}"
            block = BlazeBlock(in_channels, v[0], v[1], stride=stride, use_5x5kernel=use_5x5kernel, act=act, name=name,
                               conv_lr=conv_lr)
            self.blocks.append(self.add_sublayer(name, block))
            in_channels = v[1]
            stride_so_far *= stride
        self._out_channels = []
        for k, v in enumerate(double_blaze_filters):
            stride = v[3] if len(v) == 4 else 1
            name = f"double_blaze_{k}"
            block = BlazeBlock(in_channels, v[0], v[1], double_channels=v[2], stride=stride,
                               use_5x5kernel=use_5x5kernel, act=act, name=name,
                               conv_lr=conv_lr)
            self.blocks.append(self.add_sublayer(name, block))
            in_channels = v[2]
            stride_so_far *= stride
            self._out_channels.append(in_channels)
            strides.append(stride_so_far)
        self._strides = [strides[-4], strides[-1]]

    def forward(self, inputs):
        """Returns ``[C_stride8, C_stride16]`` feature maps (see :attr:`out_shape`)."""
        y = self.conv1(inputs["image"])
        outs = []
        for block in self.blocks:
            y = block(y)
            outs.append(y)
        return [outs[-4], outs[-1]]

    @property
    def out_shape(self):
        return [ShapeSpec(channels=c, stride=s)
                for c, s in zip([self._out_channels[-4], self._out_channels[-1]], self._strides)]
