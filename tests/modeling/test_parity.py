"""Checkpoint compatibility with PaddleDetection's own BlazeFace models (random weights; the published
weights on real photos are checked in tests/pretrained/test_published_models.py)."""
import numpy as np
import paddle
import pytest
from ppdet.core.workspace import create
from ppdet.modeling.backbones.blazenet import BlazeNet
from ppdet.modeling.necks.blazeface_fpn import BlazeNeck

from devtools.upstream import build_upstream
from helpers import CONFIGS
from ppdet_face.engine import load_config
from ppdet_face.modeling import BlazeFaceBackbone, BlazeFaceNeck
from ppdet_face.modeling.blaze_neck import NECK_TYPES

#: Every ``act`` PaddleDetection's BlazeNet acts on (``None``, its default, and any other value: linear).
UPSTREAM_ACTS = ("relu", "relu6", "leaky", "hard_swish", None)


def _randomise(model, seed):
    paddle.seed(seed)
    for p in model.parameters():
        p.set_value(paddle.randn(p.shape) * 0.1)
    for name, buf in model.named_buffers():
        if name.endswith("_variance"):
            buf.set_value(paddle.rand(buf.shape) + 0.5)
        elif name.endswith("_mean"):
            buf.set_value(paddle.randn(buf.shape) * 0.1)


def _copy(src, dst):
    su, sd = src.state_dict(), dst.state_dict()
    assert set(su) == set(sd), f"names differ: {sorted(set(su) ^ set(sd))[:5]}"
    assert all(list(su[k].shape) == list(sd[k].shape) for k in su)
    missing, unexpected = dst.set_state_dict(su)
    assert not missing and not unexpected


@pytest.mark.parametrize("act", UPSTREAM_ACTS)
@pytest.mark.parametrize("use_5x5kernel", [True, False])
def test_backbone_equals_upstream_blazenet_for_every_activation(act, use_5x5kernel):
    upstream = BlazeNet(act=act, use_5x5kernel=use_5x5kernel)
    ours = BlazeFaceBackbone(act=act, use_5x5kernel=use_5x5kernel)
    _randomise(upstream, seed=7)
    _copy(upstream, ours)
    upstream.eval()
    ours.eval()
    x = {"image": paddle.randn([1, 3, 160, 128]) * 2.0}
    with paddle.no_grad():
        for a, b in zip(upstream(x), ours(x)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, rtol=1e-5)


def test_backbone_activation_changes_the_output():
    """The parity above is not vacuous: ``act`` reaches the network (hard_swish differs from relu)."""
    nets = [BlazeFaceBackbone(act=a) for a in ("relu", "hard_swish")]
    _randomise(nets[0], seed=7)
    _copy(nets[0], nets[1])
    x = {"image": paddle.randn([1, 3, 64, 64])}
    for n in nets:
        n.eval()
    with paddle.no_grad():
        assert not np.allclose(nets[0](x)[1].numpy(), nets[1](x)[1].numpy(), atol=1e-3)


@pytest.mark.parametrize("neck_type", NECK_TYPES)
def test_neck_equals_upstream_blazeneck_for_every_neck_type(neck_type):
    upstream = BlazeNeck(in_channel=[96, 96], neck_type=neck_type)
    ours = BlazeFaceNeck(in_channels=[96, 96], neck_type=neck_type)
    _randomise(upstream, seed=11)
    _copy(upstream, ours)
    upstream.eval()
    ours.eval()
    feats = [paddle.randn([1, 96, 20, 16]), paddle.randn([1, 96, 10, 8])]
    assert [s.channels for s in ours.out_shape] == [s.channels for s in upstream.out_shape]
    with paddle.no_grad():
        for a, b in zip(upstream(feats), ours(feats)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, rtol=1e-5)


def test_neck_type_none_passes_the_features_through_as_upstream():
    feats = [paddle.randn([1, 96, 8, 8]), paddle.randn([1, 96, 4, 4])]
    neck = BlazeFaceNeck(in_channels=[96, 96], neck_type="None")
    assert not neck.parameters()
    assert [o.numpy().tolist() for o in neck(feats)] == [f.numpy().tolist() for f in feats]


@pytest.mark.parametrize("config,neck_type,act", [("blazeface_fpn_ssh_1000e.yml", "fpn_ssh", "hard_swish"),
                                                  ("blazeface_fpn_ssh_wider_real.yml", "fpn_ssh", "relu"),
                                                  ("blazeface_1000e.yml", "None", "relu")])
@pytest.mark.parametrize("direction", ["upstream_to_ours", "ours_to_upstream"])
def test_state_dict_round_trip_and_outputs_agree(config, neck_type, act, direction):
    upstream = build_upstream(neck_type, act=act)
    cfg = load_config(str(CONFIGS / "face_detection" / config))
    assert cfg["BlazeFaceBackbone"]["act"] == act
    ours = create(cfg.architecture)
    src, dst = (upstream, ours) if direction == "upstream_to_ours" else (ours, upstream)
    _randomise(src, seed=3)
    _copy(src, dst)
    upstream.eval()
    ours.eval()
    x = paddle.randn([2, 3, 320, 256])
    with paddle.no_grad():
        feats = upstream.backbone({"image": x})
        if upstream.neck is not None and neck_type != "None":
            feats = upstream.neck(feats)
        (up_boxes, up_scores), up_anchors = upstream.blaze_head(feats, x)
        deltas, logits, anchors = ours.head_outputs(x)
    for a, b in zip(up_boxes + up_scores + up_anchors, deltas + logits + anchors):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, rtol=0)
