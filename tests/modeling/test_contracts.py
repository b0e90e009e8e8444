"""Contracts every registered component keeps: declared shapes are real, no NaN, gradients everywhere."""
import numpy as np
import paddle
import pytest

from ppdet_face.modeling import (
    BlazeFaceBackbone,
    BlazeFaceNeck,
    BlazeFaceSSDLoss,
    FaceAnchorHead,
    FaceAnchors,
    SSHLoss,
    SSHNeck,
    VisionMobileNetV1,
    VisionMobileNetV2,
    VisionResNet50,
    VisionVGG16,
)
from ppdet_face.modeling.blaze_neck import NECK_TYPES
from ppdet_face.modeling.blazenet import BACKBONE_ACTS
from ppdet_face.modeling.ssh import MODULE_SAMPLING

SMALL = dict(blaze_filters=[[8, 8], [8, 16, 2]], double_blaze_filters=[[16, 8, 24, 2], [24, 8, 24], [24, 8, 24],
                                                                           [24, 8, 32, 2], [32, 8, 32]])


def _grads_everywhere(layer, loss):
    loss.backward()
    missing = [n for n, p in layer.named_parameters() if not p.stop_gradient and (p.grad is None)]
    zero = [n for n, p in layer.named_parameters() if p.grad is not None and float(p.grad.abs().sum()) == 0.0]
    return missing, zero


@pytest.mark.parametrize("act", BACKBONE_ACTS)
@pytest.mark.parametrize("use_5x5kernel", [True, False])
def test_backbone_shapes_and_gradients(act, use_5x5kernel):
    paddle.seed(0)
    net = BlazeFaceBackbone(act=act, use_5x5kernel=use_5x5kernel, **SMALL)
    feats = net({"image": paddle.randn([2, 3, 64, 96])})
    assert [f.shape[1] for f in feats] == [s.channels for s in net.out_shape]
    assert [64 // f.shape[2] for f in feats] == [s.stride for s in net.out_shape] == [8, 16]
    assert all(np.isfinite(f.numpy()).all() for f in feats)
    missing, zero = _grads_everywhere(net, sum((f ** 2).mean() for f in feats))
    assert not missing and not zero


def test_default_backbone_outputs_96_channels_at_stride_8_and_16():
    net = BlazeFaceBackbone()
    assert [(s.channels, s.stride) for s in net.out_shape] == [(96, 8), (96, 16)]


@pytest.mark.parametrize("neck_type", NECK_TYPES)
def test_neck_shapes_and_gradients(neck_type):
    paddle.seed(0)
    neck = BlazeFaceNeck(in_channels=[24, 32], neck_type=neck_type)
    feats = [paddle.randn([2, 24, 8, 12]), paddle.randn([2, 32, 4, 6])]
    outs = neck(feats)
    assert [o.shape[1] for o in outs] == [s.channels for s in neck.out_shape]
    assert [o.shape[2:] for o in outs] == [[8, 12], [4, 6]]
    missing, zero = _grads_everywhere(neck, sum((o ** 2).mean() for o in outs))
    assert not missing and not zero


def test_neck_rejects_unknown_type_listing_allowed_values():
    with pytest.raises(ValueError, match="fpn_ssh.*only_fpn.*only_ssh"):
        BlazeFaceNeck(in_channels=[96, 96], neck_type="fpn")


def test_backbone_rejects_unknown_activation():
    with pytest.raises(ValueError, match="allowed values"):
        BlazeFaceBackbone(act="swish")


def test_head_and_loss_gradients_reach_every_parameter():
    paddle.seed(0)
    head = FaceAnchorHead(in_channels=[16, 24])
    feats = [paddle.randn([2, 16, 8, 8]), paddle.randn([2, 24, 4, 4])]
    image = paddle.randn([2, 3, 64, 64])
    deltas, logits, anchors = head(feats, image)
    assert [d.shape for d in deltas] == [[2, 8 * 8 * 2, 4], [2, 4 * 4 * 6, 4]]
    assert [lg.shape for lg in logits] == [[2, 8 * 8 * 2, 2], [2, 4 * 4 * 6, 2]]
    gt = paddle.to_tensor([[[0.1, 0.1, 0.4, 0.45], [0.5, 0.5, 0.9, 0.95]], [[0.2, 0.2, 0.3, 0.32], [0, 0, 0, 0]]])
    out = BlazeFaceSSDLoss()(deltas, logits, gt, paddle.zeros([2, 2, 1], "int32"), anchors, head.box_coder)
    assert np.isfinite(float(out["loss"]))
    missing, zero = _grads_everywhere(head, out["loss"])
    assert not missing and not zero


# SSH components: every paddle.vision backbone wrapper, the SSH neck and loss (its head is FaceAnchorHead).
VISION_BACKBONES = [VisionMobileNetV1, VisionMobileNetV2, VisionResNet50, VisionVGG16]


@pytest.mark.parametrize("backbone_cls", VISION_BACKBONES, ids=lambda c: c.__name__)
def test_vision_backbone_shapes_and_gradients(backbone_cls):
    paddle.seed(0)
    net = backbone_cls()
    feats = net({"image": paddle.randn([1, 3, 64, 96])})
    assert [f.shape[1] for f in feats] == [s.channels for s in net.out_shape]
    assert [64 // f.shape[2] for f in feats] == [96 // f.shape[3] for f in feats] == [8, 16, 32]
    assert [s.stride for s in net.out_shape] == [8, 16, 32]
    assert all(np.isfinite(f.numpy()).all() for f in feats)
    missing, zero = _grads_everywhere(net, sum((f ** 2).mean() for f in feats))
    assert not missing and not zero


def test_ssh_neck_shapes_and_gradients():
    paddle.seed(0)
    neck = SSHNeck(in_channels=[16, 24, 32], module_channels=[8, 16, 16], context_channels=[4, 8, 8],
                   fuse_channels=8)
    feats = [paddle.randn([2, 16, 8, 12]), paddle.randn([2, 24, 4, 6]), paddle.randn([2, 32, 2, 3])]
    outs = neck(feats)
    assert [o.shape[1] for o in outs] == [s.channels for s in neck.out_shape] == [16, 32, 32]
    assert [o.shape[2:] for o in outs] == [[8, 12], [4, 6], [2, 3]]
    assert [s.stride for s in neck.out_shape] == [8, 16, 32]
    missing, zero = _grads_everywhere(neck, sum((o ** 2).mean() for o in outs))
    assert not missing and not zero


@pytest.mark.parametrize("module_sampling", MODULE_SAMPLING)
def test_ssh_head_and_loss_gradients(module_sampling):
    paddle.seed(0)
    anchors = FaceAnchors(steps=[8, 16, 32], min_sizes=[[16, 32], [64, 128], [256, 512]])
    head = FaceAnchorHead(in_channels=[16, 32, 32], anchor_generator=anchors, kernel_size=1)
    feats = [paddle.randn([2, 16, 16, 16]), paddle.randn([2, 32, 8, 8]), paddle.randn([2, 32, 4, 4])]
    deltas, logits, anchors = head(feats, paddle.randn([2, 3, 128, 128]))
    assert [d.shape for d in deltas] == [[2, 16 * 16 * 2, 4], [2, 8 * 8 * 2, 4], [2, 4 * 4 * 2, 4]]
    gt = paddle.to_tensor([[[0.1, 0.1, 0.3, 0.3], [-0.6, -0.6, 1.35, 1.35]], [[0.4, 0.4, 0.9, 0.9], [0, 0, 0, 0]]])
    out = SSHLoss(module_sampling=module_sampling)(deltas, logits, gt, paddle.zeros([2, 2, 1], "int32"), anchors,
                                                   head.box_coder)
    assert np.isfinite(float(out["loss"]))
    missing, zero = _grads_everywhere(head, out["loss"])
    if module_sampling == "all":
        assert not missing and not zero
    else:  # one module per step: exactly one level's convs learn
        assert len(missing) == 2 * 2 * 2 and not zero


@pytest.mark.parametrize("backbone_cls", [VisionMobileNetV1, VisionMobileNetV2, VisionResNet50],
                         ids=lambda c: c.__name__)
def test_vision_backbone_freeze_norm_uses_running_statistics_in_training(backbone_cls):
    paddle.seed(0)
    net = backbone_cls(freeze_norm=True)
    x = paddle.randn([2, 3, 64, 64])
    net.train()
    train_out = net({"image": x})
    net.eval()
    eval_out = net({"image": x})
    for a, b in zip(train_out, eval_out):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    norms = [m for m in net.sublayers() if isinstance(m, paddle.nn.BatchNorm2D)]
    assert norms and all(m.weight.stop_gradient and m.bias.stop_gradient for m in norms)
    missing, zero = _grads_everywhere(net, sum((f ** 2).mean() for f in net({"image": x})))
    assert not missing and not zero
