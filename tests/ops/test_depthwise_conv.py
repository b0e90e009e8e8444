"""The custom depthwise conv2d operator equals F.conv2d(groups=C): forward and both gradients."""
import shutil
import warnings

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
import pytest

from ppdet_face.ops import depthwise_conv as dwc

needs_op = pytest.mark.skipif(not dwc.is_available(), reason=f"custom op unavailable: {dwc._state['error']}")


def _reference_and_ours(x_np, w_np, stride, padding, seed=0):
    """Returns ((y, dx, dw) of ours, (y, dx, dw) of F.conv2d) for a random upstream gradient."""
    rng = np.random.default_rng(seed)
    results = []
    dy_np = None
    for fn in (dwc.depthwise_conv2d,
               lambda x, w, s, p: F.conv2d(x, w, stride=s, padding=p, groups=x.shape[1])):
        x = paddle.to_tensor(x_np, stop_gradient=False)
        w = paddle.to_tensor(w_np, stop_gradient=False)
        y = fn(x, w, stride, padding)
        if dy_np is None:
            dy_np = rng.standard_normal(y.shape).astype("float32")
        dx, dw = paddle.grad([y], [x, w], [paddle.to_tensor(dy_np)])
        results.append((y.numpy(), dx.numpy(), dw.numpy()))
    return results


def _assert_close(ours, ref, what):
    for name, a, b in zip(("forward", "grad_input", "grad_weight"), ours, ref):
        assert a.shape == b.shape, f"{what} {name}: shape {a.shape} != {b.shape}"
        scale = max(float(np.abs(b).max()), 1e-6)
        err = float(np.abs(a - b).max()) / scale
        assert err < 1e-4, f"{what} {name}: max relative error {err:.2e}"


def test_extension_builds_when_a_compiler_is_present():
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler")
    if dwc._state["error"] and "PPDET_FACE_DISABLE_CUSTOM_OPS" in dwc._state["error"]:
        pytest.skip("disabled by PPDET_FACE_DISABLE_CUSTOM_OPS")
    assert dwc.is_available(), dwc._state["error"]


@needs_op
@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("shape", [(2, 3, 11, 13), (1, 4, 7, 6), (3, 2, 17, 9)])
def test_matches_f_conv2d(kernel, stride, shape):
    rng = np.random.default_rng(hash((kernel, stride, shape)) % 2**32)
    n, c, h, w = shape
    x = rng.standard_normal(shape).astype("float32")
    wt = rng.standard_normal((c, 1, kernel, kernel)).astype("float32")
    ours, ref = _reference_and_ours(x, wt, stride, (kernel - 1) // 2)
    _assert_close(ours, ref, f"k={kernel} s={stride} {shape}")


@needs_op
@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, 0), (3, 2, 2), (5, 1, 4), (5, 2, 0), (5, 2, 3)])
def test_other_paddings(kernel, stride, padding):
    rng = np.random.default_rng(kernel * 10 + stride + padding)
    x = rng.standard_normal((2, 3, 12, 9)).astype("float32")
    wt = rng.standard_normal((3, 1, kernel, kernel)).astype("float32")
    ours, ref = _reference_and_ours(x, wt, stride, padding)
    _assert_close(ours, ref, f"k={kernel} s={stride} p={padding}")


@needs_op
def test_model_sized_plane_and_thread_count_do_not_change_results():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 24, 64, 64)).astype("float32")
    wt = rng.standard_normal((24, 1, 5, 5)).astype("float32")
    try:
        dwc.set_num_threads(1)
        one = _reference_and_ours(x, wt, 2, 2)[0]
        dwc.set_num_threads(2)
        ours, ref = _reference_and_ours(x, wt, 2, 2)
    finally:
        dwc.set_num_threads(None)
    _assert_close(ours, ref, "64x64")
    for a, b in zip(one, ours):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


class _DwBlock(nn.Layer):
    def __init__(self, use_op):
        super().__init__()
        self.use_op = use_op
        self.conv = nn.Conv2D(6, 6, 5, stride=2, padding=2, groups=6, bias_attr=False)
        self.bn = nn.BatchNorm2D(6)
        self.pw = nn.Conv2D(6, 4, 1)

    def forward(self, x):
        c = self.conv
        if self.use_op and self.training:
            y = dwc.depthwise_conv2d(x, c.weight, c._stride, c._padding)
        else:
            y = c(x)
        return self.pw(F.relu(self.bn(y)))


@needs_op
def test_inside_a_layer_with_loss_backward():
    paddle.seed(3)
    ref = _DwBlock(use_op=False)
    ours = _DwBlock(use_op=True)
    ours.set_state_dict(ref.state_dict())
    x_np = np.random.default_rng(1).standard_normal((2, 6, 15, 15)).astype("float32")
    grads = []
    for model in (ours, ref):
        model.train()
        x = paddle.to_tensor(x_np, stop_gradient=False)
        loss = (model(x) ** 2).mean()
        loss.backward()
        grads.append({n: p.grad.numpy() for n, p in model.named_parameters() if not p.stop_gradient}
                     | {"x": x.grad.numpy()})
    assert set(grads[0]) == set(grads[1])
    for name in grads[1]:
        np.testing.assert_allclose(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-5, err_msg=name)
    # Eval mode takes the standard conv path: same output as the reference.
    ours.eval()
    ref.eval()
    x = paddle.to_tensor(x_np)
    np.testing.assert_allclose(ours(x).numpy(), ref(x).numpy(), rtol=1e-5, atol=1e-6)


def test_unsupported_calls_fall_back_silently():
    rng = np.random.default_rng(2)
    cases = [  # float64, 7x7 kernel, asymmetric stride, not depthwise (2 input channels per group)
        (rng.standard_normal((1, 2, 9, 9)), rng.standard_normal((2, 1, 3, 3)), 1, 1, "float64"),
        (rng.standard_normal((1, 2, 9, 9)), rng.standard_normal((2, 1, 7, 7)), 1, 3, "float32"),
        (rng.standard_normal((1, 2, 9, 9)), rng.standard_normal((2, 1, 3, 3)), (1, 2), 1, "float32"),
    ]
    for x_np, w_np, stride, padding, dtype in cases:
        x = paddle.to_tensor(x_np.astype(dtype))
        w = paddle.to_tensor(w_np.astype(dtype))
        assert not dwc.is_supported(x, w, stride, padding)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = dwc.depthwise_conv2d(x, w, stride, padding)
        expected = F.conv2d(x, w, stride=stride, padding=padding, groups=x.shape[1])
        np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-6)


def test_missing_extension_warns_once_and_falls_back(monkeypatch):
    monkeypatch.setattr(dwc, "load_extension", lambda: None)
    monkeypatch.setitem(dwc._state, "warned", False)
    monkeypatch.setitem(dwc._state, "error", "RuntimeError: no C++ compiler found")
    rng = np.random.default_rng(4)
    x = paddle.to_tensor(rng.standard_normal((1, 3, 8, 8)).astype("float32"))
    w = paddle.to_tensor(rng.standard_normal((3, 1, 3, 3)).astype("float32"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y1 = dwc.depthwise_conv2d(x, w, 1, 1)
        y2 = dwc.depthwise_conv2d(x, w, 1, 1)
    messages = [str(c.message) for c in caught if "depthwise_conv2d" in str(c.message)]
    assert len(messages) == 1 and "no C++ compiler" in messages[0]
    expected = F.conv2d(x, w, padding=1, groups=3).numpy()
    np.testing.assert_allclose(y1.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(y2.numpy(), expected, rtol=1e-6)


def test_thread_count_setting():
    try:
        dwc.set_num_threads(3)
        assert dwc.get_num_threads() == 3
        dwc.set_num_threads(None)
        assert dwc.get_num_threads() >= 1
        with pytest.raises(ValueError):
            dwc.set_num_threads(-1)
    finally:
        dwc.set_num_threads(None)


@needs_op
def test_non_contiguous_input_and_single_channel():
    rng = np.random.default_rng(5)
    base = paddle.to_tensor(rng.standard_normal((2, 3, 10, 13)).astype("float32"))
    x_np = base.transpose([0, 1, 3, 2]).numpy()  # [2, 3, 13, 10]
    wt = rng.standard_normal((3, 1, 5, 5)).astype("float32")
    x = paddle.to_tensor(base.numpy(), stop_gradient=False)
    w = paddle.to_tensor(wt)
    y = dwc.depthwise_conv2d(x.transpose([0, 1, 3, 2]), w, 1, 2)
    expected = F.conv2d(paddle.to_tensor(x_np), w, padding=2, groups=3).numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-5)
    y.sum().backward()
    assert x.grad.shape == [2, 3, 10, 13]
    ours, ref = _reference_and_ours(rng.standard_normal((1, 1, 5, 5)).astype("float32"),
                                    rng.standard_normal((1, 1, 3, 3)).astype("float32"), 1, 1)
    _assert_close(ours, ref, "single channel")


@needs_op
def test_training_uses_op_but_exported_program_does_not(tmp_path):
    """Guard for the ConvBN integration: the custom op may serve training, never the export."""
    from ppdet.core.workspace import create, load_config

    from helpers import CONFIGS
    from ppdet_face.export import export_paddle, program_ops

    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"))
    model = create(cfg.architecture)
    model.train()
    image = paddle.to_tensor(np.random.default_rng(0).standard_normal((1, 3, 64, 64)).astype("float32"))
    gt_bbox = paddle.to_tensor(np.array([[[0.1, 0.1, 0.5, 0.6]]], "float32"))
    model({"image": image, "gt_bbox": gt_bbox, "gt_class": paddle.zeros([1, 1], "int32")})["loss"].backward()
    model.eval()
    export_paddle(model, str(tmp_path))
    ops = program_ops(str(tmp_path))
    assert ops, "expected a PIR model.json"
    assert not [op for op in ops if "ppdet" in op], sorted(set(ops))


def test_default_threads_are_shared_between_data_parallel_processes(monkeypatch):
    monkeypatch.delenv("PPDET_FACE_OPS_THREADS", raising=False)
    monkeypatch.setattr(dwc, "_initial_env", lambda name: None)
    monkeypatch.setattr(dwc.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setenv("PADDLE_LOCAL_SIZE", "2")
    assert dwc.get_num_threads() == 4
    monkeypatch.setenv("PPDET_FACE_OPS_THREADS", "3")
    assert dwc.get_num_threads() == 3
