"""Op rewrites while tracing: export-safe forms of ``leaky_relu`` and nearest ``interpolate``.

Why (Paddle 3.3 / paddle2onnx 2.1; checked by tests/export/test_export.py):

* ``leaky_relu`` is stored with a *double* ``negative_slope`` attribute in PIR programs; the oneDNN
  ``conv_activation_onednn_fuse_pass`` reads it as a float and Paddle Inference segfaults when oneDNN
  is on; paddle2onnx 2.1 writes the same double's bits as the float ``alpha`` of ONNX ``LeakyRelu``
  (2.5e-43 instead of 0.01). While tracing we emit ``maximum(x, slope * x)`` instead (exact for
  0 <= slope <= 1); the ONNX graph gets a real ``LeakyRelu(alpha=slope)`` back (:mod:`.onnx`).
* ``nearest_interp`` carries an (empty) ``scale`` attribute of type array<double> that the oneDNN
  executor cannot convert ("ConvertPirAttribute2RuntimeAttribute not support"), so every oneDNN run
  fails. Nearest resizing is emitted as two index gathers with exactly the index formula of Paddle's
  kernel (``floor(i * in / out)``), or, when every resize is a 2x up-sampling, as one transposed conv.
"""
import contextlib

import paddle
import paddle.nn.functional as F

__all__ = ["export_safe_ops", "upsampling_is_2x", "SAFE_OPS_TARGETS"]

#: Targets of :func:`export_safe_ops`.
SAFE_OPS_TARGETS = ("onnx", "paddle")


def _leaky_relu_as_maximum(x, negative_slope=0.01, name=None):
    """leaky_relu without the ``leaky_relu`` op (whose double attribute breaks oneDNN and paddle2onnx)."""
    slope = float(negative_slope)
    if 0.0 <= slope <= 1.0:
        return paddle.maximum(x, x * slope)
    return paddle.minimum(x, x * slope)


def _leaky_relu_as_relus(x, negative_slope=0.01, name=None):
    """leaky_relu as ``relu(x) - relu(x * -slope)``: oneDNN kernels only (Paddle program).

    Exact: for x > 0 it is ``x - 0``; for x < 0 it is ``0 - (x * -slope)``, and IEEE rounding is
    symmetric in the sign, so both equal ``x * slope`` bit for bit. ``maximum`` (the portable
    form) has no oneDNN kernel: each one costs two layout conversions around a plain kernel.
    """
    slope = float(negative_slope)
    if not 0.0 <= slope <= 1.0:
        return _leaky_relu_as_maximum(x, slope)
    return F.relu(x) - F.relu(x * -slope)


def _nearest_index(in_size, out_size):
    """Source indices of nearest resizing, ``floor(i * in / out)`` in float32 (Paddle's kernel)."""
    ratio = paddle.cast(in_size, "float32") / paddle.cast(out_size, "float32")
    idx = paddle.floor(paddle.arange(out_size, dtype="float32") * ratio)
    return paddle.cast(idx, "int64")


def _nearest_up2(x, out_h, out_w):
    """Nearest resizing to ``out`` when ``out`` is ``2 * in`` or ``2 * in - 1`` (both axes).

    For those sizes Paddle's ``floor(i * in / out)`` is ``floor(i / 2)``, i.e. every pixel
    repeated 2 x 2 (then cropped): a stride-2 2x2 transposed convolution with identity weights,
    one oneDNN op (exact: each output is ``x * 1`` plus zeros) instead of two plain gathers and
    their layout conversions. Only used when ``upsampling_is_2x`` proved the sizes.
    """
    c = x.shape[1]
    weight = paddle.eye(c, dtype=x.dtype).reshape([c, c, 1, 1]).tile([1, 1, 2, 2])  # constant-folded
    y = F.conv2d_transpose(x, weight, stride=2)
    return y[:, :, :out_h, :out_w]


@contextlib.contextmanager
def export_safe_ops(target="onnx", upsample_2x=False):
    """Within the block, ``F.leaky_relu`` and nearest ``F.interpolate`` emit export-safe ops.

    Every replacement computes the same values as the original (see the module docstring,
    points 2 and 3); anything else is passed to the original functions.

    Args:
        target (str): ``"onnx"``: portable forms (``maximum(x, slope * x)``, which the ONNX
            rewrite turns back into ``LeakyRelu``, and index gathers). ``"paddle"``: forms that
            stay inside oneDNN in Paddle Inference (``relu(x) - relu(-x) * slope``, and the
            transposed convolution of ``_nearest_up2`` when ``upsample_2x``).
        upsample_2x (bool): every nearest resize of the traced model goes to ``2 * in`` or
            ``2 * in - 1`` (checked by ``upsampling_is_2x``); only used with ``"paddle"``.
    """
    if target not in SAFE_OPS_TARGETS:
        raise ValueError(f"target={target!r} is not supported; allowed values: {', '.join(SAFE_OPS_TARGETS)}")
    orig_leaky, orig_interp = F.leaky_relu, F.interpolate
    up2 = upsample_2x and target == "paddle"

    def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=False, align_mode=0,
                    data_format=None, recompute_scale_factor=None, name=None):
        simple = (mode == "nearest" and size is not None and not align_corners and data_format in (None, "NCHW")
                  and len(x.shape) == 4)
        if not simple:
            return orig_interp(x, size=size, scale_factor=scale_factor, mode=mode, align_corners=align_corners,
                               align_mode=align_mode, data_format=data_format,
                               recompute_scale_factor=recompute_scale_factor, name=name)
        out_h, out_w = size[0], size[1]
        if up2 and x.shape[1] is not None and x.shape[1] > 0:
            return _nearest_up2(x, out_h, out_w)
        shape = paddle.shape(x)
        x = paddle.gather(x, _nearest_index(shape[2], out_h), axis=2)
        return paddle.gather(x, _nearest_index(shape[3], out_w), axis=3)

    F.leaky_relu = _leaky_relu_as_relus if target == "paddle" else _leaky_relu_as_maximum
    F.interpolate = interpolate
    try:
        yield
    finally:
        F.leaky_relu, F.interpolate = orig_leaky, orig_interp


#: Input sizes (H, W) at which ``upsampling_is_2x`` checks a dynamic-shape model: odd and even,
#: so every stride-2 stage meets both parities.
_PROBE_SIZES = ((64, 64), (97, 131), (161, 95), (33, 250), (200, 333))


def upsampling_is_2x(layer, fixed_shape=None):
    """True when every nearest ``F.interpolate`` of ``layer``'s forward resizes to ``2 * in`` or
    ``2 * in - 1`` at the probe sizes (the fixed shape, else ``_PROBE_SIZES``), and at least one
    resize happens. Runs the layer in dygraph on zero images."""
    orig_interp = F.interpolate
    seen, ok = [], [True]

    def record(x, size=None, scale_factor=None, mode="nearest", **kwargs):
        out = orig_interp(x, size=size, scale_factor=scale_factor, mode=mode, **kwargs)
        if mode != "nearest" or size is None:
            ok[0] = False
        else:
            for i, o in zip(x.shape[2:], out.shape[2:]):
                ok[0] = ok[0] and int(o) in (2 * int(i), 2 * int(i) - 1)
        seen.append(1)
        return out

    if fixed_shape:
        sizes = [(fixed_shape, fixed_shape) if isinstance(fixed_shape, int) else tuple(fixed_shape)]
    else:
        sizes = _PROBE_SIZES
    F.interpolate = record
    try:
        with paddle.no_grad():
            for h, w in sizes:
                layer({"image": paddle.zeros([1, 3, int(h), int(w)], "float32"),
                       "im_shape": paddle.to_tensor([[float(h), float(w)]]), "scale_factor": paddle.ones([1, 2])})
    except Exception:  # noqa: BLE001  (any failure: keep the portable gathers)
        return False
    finally:
        F.interpolate = orig_interp
    return bool(seen) and ok[0]
