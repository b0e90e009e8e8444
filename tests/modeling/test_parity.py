"""Checkpoint compatibility with PaddleDetection's own BlazeFace models."""
import numpy as np
import paddle
import pytest
from ppdet.core.workspace import create

from devtools.upstream import build_upstream
from helpers import CONFIGS
from ppdet_face.engine import load_config


def _randomise(model, seed):
    paddle.seed(seed)
    for p in model.parameters():
        p.set_value(paddle.randn(p.shape) * 0.1)
    for name, buf in model.named_buffers():
        if name.endswith("_variance"):
            buf.set_value(paddle.rand(buf.shape) + 0.5)
        elif name.endswith("_mean"):
            buf.set_value(paddle.randn(buf.shape) * 0.1)


@pytest.mark.parametrize("config,neck_type", [("blazeface_fpn_ssh_1000e.yml", "fpn_ssh"),
                                              ("blazeface_1000e.yml", "None")])
@pytest.mark.parametrize("direction", ["upstream_to_ours", "ours_to_upstream"])
def test_state_dict_round_trip_and_outputs_agree(config, neck_type, direction):
    upstream = build_upstream(neck_type)
    ours = create(load_config(str(CONFIGS / "face_detection" / config)).architecture)
    su, so = upstream.state_dict(), ours.state_dict()
    assert set(su) == set(so), f"names differ: {sorted(set(su) ^ set(so))[:5]}"
    assert all(list(su[k].shape) == list(so[k].shape) for k in su)
    src, dst = (upstream, ours) if direction == "upstream_to_ours" else (ours, upstream)
    _randomise(src, seed=3)
    missing, unexpected = dst.set_state_dict(src.state_dict())
    assert not missing and not unexpected
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
