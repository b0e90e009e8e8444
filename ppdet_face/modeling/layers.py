"""Shared layers: activation lookup, Conv2D + BatchNorm (+ activation) and Conv2D + bias (+ activation).

Every component of ppdet_face builds its convolutions from :class:`ConvBN` so that
there is exactly one implementation (and one set of parameter names) of the block.
"""
import paddle.nn as nn
import paddle.nn.functional as F
from paddle import ParamAttr
from paddle.nn.initializer import KaimingNormal

from ..ops import depthwise_conv as dw_ops

__all__ = ["ACTIVATIONS", "get_activation", "check_choice", "ConvBN", "ConvAct"]


def check_choice(name, value, allowed):
    """Validate ``value`` against a closed set of options.

    Args:
        name (str): option name used in the message.
        value: the value given by the user.
        allowed (Iterable): the allowed values.

    Returns:
        The value, unchanged.

    Raises:
        ValueError: naming the option, the bad value and every allowed value.
    """
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; allowed values: {', '.join(map(repr, allowed))}")
    return value


def _hard_swish(x):
    return F.hardswish(x)


def _leaky_relu(x):
    return F.leaky_relu(x, negative_slope=0.01)


#: Activation name -> function. ``None`` means identity (a linear layer).
ACTIVATIONS = {
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": _leaky_relu,
    "leaky": _leaky_relu,  # PaddleDetection's spelling (its ConvBNLayer's F.leaky_relu, slope 0.01)
    "hard_swish": _hard_swish,
    None: None,
}


def get_activation(name):
    """Return the activation function called ``name`` (``None`` for identity).

    Raises:
        ValueError: if ``name`` is not a key of :data:`ACTIVATIONS`.
    """
    check_choice("act", name, ACTIVATIONS)
    return ACTIVATIONS[name]


class ConvBN(nn.Layer):
    """Conv2D (no bias) followed by BatchNorm2D and an optional activation.

    Parameter names are ``_conv.weight`` and ``_batch_norm.{weight,bias,_mean,_variance}``,
    the names PaddleDetection's BlazeFace uses, so its checkpoints load unchanged.
    Depthwise convolutions run through the fast CPU operator of :mod:`ppdet_face.ops` in
    training (same parameters; eval and export use the standard ``Conv2D``).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): square kernel size.
        stride (int): stride. Default: 1.
        groups (int): convolution groups (``in_channels`` for depthwise). Default: 1.
        act (str|None): activation name from :data:`ACTIVATIONS`. Default: "relu".
        conv_lr (float): learning-rate multiplier of the conv weight. Default: 0.1
            (PaddleDetection's BlazeFace value).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1, act="relu", conv_lr=0.1):
        super().__init__()
        self.act_name = act
        self._act = get_activation(act)
        self._conv = nn.Conv2D(
            in_channels,
            out_channels,
            kernel_size=kernel_size,
            stride=stride,
            padding=(kernel_size - 1) // 2,
            groups=groups,
            weight_attr=ParamAttr(learning_rate=conv_lr, initializer=KaimingNormal()),
            bias_attr=False,
        )
        self._batch_norm = nn.BatchNorm2D(out_channels)
        self._fast_depthwise = groups > 1 and groups == in_channels == out_channels

    def forward(self, x):
        """Returns the activated, normalised convolution of ``x`` ([N, out_channels, H', W'])."""
        if self.training and self._fast_depthwise:
            conv = self._conv
            x = dw_ops.depthwise_conv2d(x, conv.weight, conv._stride, conv._padding)
        else:
            x = self._conv(x)
        x = self._batch_norm(x)
        return x if self._act is None else self._act(x)


class ConvAct(nn.Layer):
    """Conv2D with bias followed by an optional activation (no normalisation; SSH's detection modules).

    Parameter names are ``conv.weight`` and ``conv.bias``.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): square kernel size ("same" padding).
        act (str|None): activation name from :data:`ACTIVATIONS`. Default: "relu".
    """

    def __init__(self, in_channels, out_channels, kernel_size, act="relu"):
        super().__init__()
        self._act = get_activation(act)
        self.conv = nn.Conv2D(in_channels, out_channels, kernel_size, padding=(kernel_size - 1) // 2,
                              weight_attr=ParamAttr(initializer=KaimingNormal()))

    def forward(self, x):
        """Returns the (activated) convolution of ``x`` ([N, out_channels, H, W])."""
        x = self.conv(x)
        return x if self._act is None else self._act(x)
