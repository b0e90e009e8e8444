"""SSH: anchors per module, the hand-checked sampler and matching, the loss, option validation."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from ppdet.core.workspace import create

from helpers import CONFIGS
from ppdet_face.engine import load_config
from ppdet_face.modeling import FaceAnchors, SSHLoss, SSHNeck
from ppdet_face.modeling.box_coder import BoxCoder
from ppdet_face.modeling.ssh import MODULE_SAMPLING, sample_hardest


def _ssh_anchor_generator():
    cfg = load_config(str(CONFIGS / "face_detection" / "ssh_mobilenet_v2_wider.yml"))
    return FaceAnchors(**{k: cfg["FaceAnchors"][k] for k in ("steps", "min_sizes", "offset")})


def test_ssh_config_anchors_hand_computed_per_module():
    gen = _ssh_anchor_generator()
    feats = [paddle.zeros([1, 1, n, n]) for n in (8, 4, 2)]  # the stride 8 / 16 / 32 maps of a 64 x 64 input
    m1, m2, m3 = (a.numpy() * 64 for a in gen(feats, paddle.zeros([1, 3, 64, 64])))
    assert (len(m1), len(m2), len(m3)) == (8 * 8 * 2, 4 * 4 * 2, 2 * 2 * 2)
    # M1: stride 8, first cell centre (4, 4), sizes 16 then 32; second cell centre (12, 4)
    np.testing.assert_allclose(m1[:3], [[-4, -4, 12, 12], [-12, -12, 20, 20], [4, -4, 20, 12]], atol=1e-5)
    # M2: stride 16, centre (8, 8), sizes 64 and 128; last cell centre (56, 56)
    np.testing.assert_allclose(m2[:2], [[-24, -24, 40, 40], [-56, -56, 72, 72]], atol=1e-5)
    np.testing.assert_allclose(m2[-1], [-8, -8, 120, 120], atol=1e-5)
    # M3: stride 32, centre (16, 16), sizes 256 and 512; cell (row 1, col 0) centre (16, 48)
    np.testing.assert_allclose(m3[:2], [[-112, -112, 144, 144], [-240, -240, 272, 272]], atol=1e-5)
    np.testing.assert_allclose(m3[4], [-112, -80, 144, 176], atol=1e-5)


def test_sampler_caps_foreground_and_takes_the_hardest_on_both_sides():
    hardness = paddle.to_tensor([[0.1, 0.9, 0.5, 0.7, 0.2, 0.8, 0.3, 0.6, 0.4, 0.05],
                                 [0.1, 0.9, 0.5, 0.7, 0.2, 0.8, 0.3, 0.6, 0.4, 0.05]])
    positive = paddle.to_tensor([[1, 1, 1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]]).astype("bool")
    negative = paddle.to_tensor([[0, 0, 0, 0, 1, 1, 1, 1, 1, 0], [1, 1, 1, 0, 1, 0, 0, 0, 0, 0]]).astype("bool")
    pos, neg = sample_hardest(hardness, positive, negative, num_samples=8, fg_fraction=0.25)
    # image 0: 4 positives, cap 2 -> the two hardest (0.9, 0.7); 6 negative slots, 5 negatives -> all of them
    assert np.flatnonzero(pos.numpy()[0]).tolist() == [1, 3]
    assert np.flatnonzero(neg.numpy()[0]).tolist() == [4, 5, 6, 7, 8]
    # image 1: 1 positive; 7 negative slots, 4 negatives available -> all (anchor 9 is ignored: neither)
    assert np.flatnonzero(pos.numpy()[1]).tolist() == [3]
    assert np.flatnonzero(neg.numpy()[1]).tolist() == [0, 1, 2, 4]
    pos, neg = sample_hardest(hardness, positive, negative, num_samples=4, fg_fraction=0.25)
    # 4 samples: 1 positive (the hardest, 0.9), 3 hardest negatives (0.8, 0.6, 0.4) in image 0
    assert np.flatnonzero(pos.numpy()[0]).tolist() == [1]
    assert np.flatnonzero(neg.numpy()[0]).tolist() == [5, 7, 8]
    assert np.flatnonzero(neg.numpy()[1]).tolist() == [1, 2, 4]  # 0.9, 0.5, 0.2 beat 0.1


# Hand-made matching case on a 100 x 100 image (pixels; normalised below). Face F0 = [10, 10, 50, 50].
_ANCHORS = np.array([
    [10, 10, 50, 50],    # a0: IoU(F0) = 1 -> positive
    [10, 10, 50, 62],    # a1: IoU(F0) = 1600 / 2080 = 0.769 -> positive
    [10, 22, 50, 62],    # a2: IoU(F0) = 1120 / 2080 = 0.538 -> positive
    [10, 26, 50, 66],    # a3: IoU(F0) = 960 / 2240 = 0.429 -> ignored (0.3 <= IoU < 0.5)
    [10, 34, 50, 74],    # a4: IoU(F0) = 640 / 2560 = 0.25 -> negative
    [60, 60, 100, 100],  # a5: no overlap -> negative
    [56, 0, 100, 20],    # a6: IoU(F1) = 400 / 880 = 0.455 (F1's best): forced positive
    [0, 70, 20, 100],    # a7: no overlap -> negative
], np.float32)
_FACES = np.array([[[10, 10, 50, 50], [60, 0, 80, 20], [0, 0, 0, 0]]], np.float32)  # F1, then a padding row
RPN_CODER = BoxCoder([1.0, 1.0, 1.0, 1.0])  # SSH's (Faster R-CNN's) encoding, as _base_/ssh.yml sets on the head


def _loss_inputs(logit_fg):
    anchors = [paddle.to_tensor(_ANCHORS / 100.0)]
    logits = paddle.to_tensor(np.stack([logit_fg, np.zeros_like(logit_fg)], -1)[None].astype(np.float32))
    deltas = paddle.to_tensor(np.full((1, 8, 4), 0.1, np.float32))
    return [deltas], [logits], paddle.to_tensor(_FACES / 100.0), paddle.zeros([1, 3, 1], "int32"), anchors, RPN_CODER


def test_ssh_loss_labels_samples_and_normalises_as_hand_computed():
    logit_fg = np.array([3.0, -1.0, 0.5, 9.0, 2.0, -3.0, 1.0, 0.0], np.float32)
    loss = SSHLoss(num_samples=4, fg_fraction=0.5)  # 2 positives, 2 negatives per image
    out = loss(*_loss_inputs(logit_fg))
    ce_fg = -np.log(1 / (1 + np.exp(-logit_fg)))   # CE of a positive (class 0 = face)
    ce_bg = -np.log(1 / (1 + np.exp(logit_fg)))    # CE of a negative (background, last)
    # positives {a0, a1, a2, a6}: hardest = lowest face score a1 (-1.0), a2 (0.5); a3 ignored despite 9.0;
    # negatives {a4, a5, a7}: hardest = highest face score a4 (2.0), a7 (0.0)
    expected_conf = (ce_fg[1] + ce_fg[2] + ce_bg[4] + ce_bg[7]) / 4
    np.testing.assert_allclose(float(out["loss_conf"]), expected_conf, rtol=1e-5)
    assert float(out["num_pos"]) == 2
    # box loss: mean over the 2 sampled positives of smooth-L1 summed over 4 coordinates (variances 1)
    target = []
    for i in (1, 2):
        a, g = _ANCHORS[i], _FACES[0, 0]
        aw, ah, gw, gh = a[2] - a[0], a[3] - a[1], g[2] - g[0], g[3] - g[1]
        target.append([(g[0] + gw / 2 - a[0] - aw / 2) / aw, (g[1] + gh / 2 - a[1] - ah / 2) / ah,
                       np.log(gw / aw), np.log(gh / ah)])
    diff = np.abs(0.1 - np.array(target))
    smooth = np.where(diff < 1, 0.5 * diff ** 2, diff - 0.5)
    np.testing.assert_allclose(float(out["loss_loc"]), smooth.sum() / 2, rtol=1e-4)


def test_face_below_the_positive_overlap_is_forced_onto_its_best_anchor():
    logit_fg = np.array([9.0, 9.0, 9.0, 0.0, -9.0, -9.0, 5.0, -9.0], np.float32)  # a6 the hardest positive
    loss = SSHLoss(num_samples=4, fg_fraction=0.25)  # 1 positive
    out = loss(*_loss_inputs(logit_fg))
    ce_fg = -np.log(1 / (1 + np.exp(-logit_fg)))
    ce_bg = -np.log(1 / (1 + np.exp(logit_fg)))
    np.testing.assert_allclose(float(out["loss_conf"]), (ce_fg[6] + ce_bg[4] + ce_bg[5] + ce_bg[7]) / 4, rtol=1e-5)


def test_image_without_faces_samples_negatives_only():
    deltas, logits, _, cls, anchors, coder = _loss_inputs(np.zeros(8, np.float32))
    out = SSHLoss(num_samples=4)(deltas, logits, paddle.zeros([1, 3, 4]), cls, anchors, coder)
    assert float(out["num_pos"]) == 0 and float(out["loss_loc"]) == 0
    np.testing.assert_allclose(float(out["loss_conf"]), np.log(2), rtol=1e-5)


def test_module_sampling_random_trains_one_module_per_step():
    paddle.seed(3)
    logits = [paddle.zeros([1, 4, 2]) for _ in range(3)]
    for lg in logits:
        lg.stop_gradient = False
    deltas = [paddle.zeros([1, 4, 4]) for _ in range(3)]
    anchors = [paddle.to_tensor(_ANCHORS[:4] / 100.0)] * 3
    out = SSHLoss(module_sampling="random")(deltas, logits, paddle.to_tensor(_FACES / 100.0),
                                            paddle.zeros([1, 3, 1], "int32"), anchors, RPN_CODER)
    out["loss"].backward()
    touched = [lg.grad is not None and float(lg.grad.abs().sum()) > 0 for lg in logits]
    assert sum(touched) == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(module_sampling="one"), "module_sampling='one'.*allowed values: 'all', 'random'"),
    (dict(positive_overlap=0.3, negative_overlap=0.5), "negative_overlap <= positive_overlap"),
    (dict(fg_fraction=0.0), "fg_fraction"),
])
def test_ssh_loss_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SSHLoss(**kwargs)


def test_module_sampling_values():
    assert MODULE_SAMPLING == ("all", "random")


def test_neck_rejects_wrong_module_count():
    with pytest.raises(ValueError, match="3 positive values"):
        SSHNeck(in_channels=[16, 32, 64], module_channels=[128, 256])


def test_neck_module_widths_follow_the_paper_and_flow_to_the_head():
    cfg = load_config(str(CONFIGS / "face_detection" / "ssh_vgg16_wider.yml"))
    model = create(cfg.architecture)
    assert [s.channels for s in model.neck.out_shape] == [128 + 2 * 64, 256 + 2 * 128, 256 + 2 * 128]
    assert [c._in_channels for c in model.head.score_convs] == [256, 512, 512]
    assert [tuple(c.weight.shape[2:]) for c in model.head.box_convs] == [(1, 1)] * 3
    assert model.num_classes == 1 and model.head.anchor_generator.num_priors == [2, 2, 2]
    feats = [paddle.randn([1, 512, 8, 8]), paddle.randn([1, 512, 4, 4]), paddle.randn([1, 512, 2, 2])]
    outs = model.neck(feats)
    assert [o.shape[1:] for o in outs] == [[256, 8, 8], [512, 4, 4], [512, 2, 2]]
    assert all(float(o.min()) >= 0 for o in outs)  # ReLU after the concat
    assert float(F.relu(outs[0]).sum()) > 0
