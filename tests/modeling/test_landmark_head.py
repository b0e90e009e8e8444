"""The landmark branch: point encoding, the head's extra outputs, the masked loss, and decode + NMS carrying each
row's own anchor's points in original pixels; a head without landmarks is unchanged."""
import numpy as np
import paddle
import pytest

from helpers import CONFIGS, load_tool
from ppdet_face.modeling import BlazeFaceSSDLoss, FaceAnchorHead, SSHLoss
from ppdet_face.modeling.box_coder import BoxCoder
from ppdet_face.modeling.face_head import factorize_conv, factorize_landmark_state
from ppdet_face.modeling.face_loss import landmark_loss

CODER = BoxCoder([0.1, 0.1, 0.2, 0.2])


def test_point_encoding_round_trip_and_retinaface_formula():
    anchors = paddle.to_tensor([[0.1, 0.2, 0.3, 0.6], [0.5, 0.5, 0.6, 0.55]])
    points = paddle.to_tensor(np.random.default_rng(0).uniform(0, 1, (1, 2, 10)).astype(np.float32))
    deltas = CODER.encode_points(points, anchors.unsqueeze(0))
    # RetinaFace: (point - anchor centre) / (variance[0] * anchor size), per x and y
    expected = (points.numpy()[0, 0, 0] - 0.2) / (0.1 * 0.2), (points.numpy()[0, 0, 1] - 0.4) / (0.1 * 0.4)
    np.testing.assert_allclose(deltas.numpy()[0, 0, :2], expected, rtol=1e-5)
    np.testing.assert_allclose(CODER.decode_points(deltas, anchors).numpy(), points.numpy(), atol=1e-6)


@pytest.mark.parametrize("bad", [-1, 2.5])
def test_head_rejects_a_bad_number_of_landmarks(bad):
    with pytest.raises(ValueError, match="num_landmarks must be an integer >= 0"):
        FaceAnchorHead(in_channels=[16, 24], num_landmarks=bad)


def test_head_without_landmarks_is_unchanged():
    head = FaceAnchorHead(in_channels=[16, 24])
    assert head.extra_fields == {} and head.landmark_deltas([paddle.zeros([1, 16, 4, 4])]) is None
    assert sorted(head.state_dict()) == ["boxes0.bias", "boxes0.weight", "boxes1.bias", "boxes1.weight",
                                         "scores0.bias", "scores0.weight", "scores1.bias", "scores1.weight"]


def test_head_with_landmarks_adds_one_conv_per_level():
    head = FaceAnchorHead(in_channels=[16, 24], num_landmarks=5)
    assert head.extra_fields == {"landmarks": 10}
    assert head.state_dict()["landmarks1.weight"].shape == [6 * 10, 24, 3, 3]
    out = head.landmark_deltas([paddle.zeros([2, 16, 8, 8]), paddle.zeros([2, 24, 4, 4])])
    assert [o.shape for o in out] == [[2, 8 * 8 * 2, 10], [2, 4 * 4 * 6, 10]]


def _full_head_of_rank(rank, in_channels=(16, 24)):
    """A full-rank-0 head whose landmark convs have exactly rank ``rank`` (and a random bias)."""
    rng = np.random.default_rng(0)
    head = FaceAnchorHead(in_channels=list(in_channels), num_landmarks=5)
    for conv in head.landmark_convs:
        out, inp, kh, kw = conv.weight.shape
        low = rng.normal(0, 0.1, (out, rank)) @ rng.normal(0, 0.1, (rank, inp * kh * kw))
        conv.weight.set_value(paddle.to_tensor(low.reshape(conv.weight.shape).astype(np.float32)))
        conv.bias.set_value(paddle.to_tensor(rng.normal(0, 0.1, conv.bias.shape).astype(np.float32)))
    return head


def test_low_rank_head_equals_the_full_head_it_was_factorised_from():
    full = _full_head_of_rank(10)
    low = FaceAnchorHead(in_channels=[16, 24], num_landmarks=5, landmark_rank=10)
    state = factorize_landmark_state({k: v.numpy() for k, v in full.state_dict().items()}, 10)
    assert sorted(state) == sorted(low.state_dict())
    assert state["landmarks1.0.weight"].shape == (10, 24, 3, 3) and state["landmarks1.1.weight"].shape == (60, 10, 1, 1)
    assert all(np.array_equal(state[k], full.state_dict()[k].numpy()) for k in state if "landmarks" not in k)
    low.set_state_dict(state)
    feats = [paddle.rand([2, 16, 8, 8]), paddle.rand([2, 24, 4, 4])]
    for a, b in zip(full.landmark_deltas(feats), low.landmark_deltas(feats)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5)


def test_a_lower_rank_approximates_and_bad_ranks_are_refused():
    weight = _full_head_of_rank(10).landmark_convs[1].weight.numpy()
    first, second = factorize_conv(weight, 5)
    approx = (second.reshape(60, 5) @ first.reshape(5, -1)).reshape(weight.shape)
    error = np.linalg.norm(approx - weight) / np.linalg.norm(weight)
    assert 0 < error < 1  # the truncated SVD keeps the largest part, not all of it
    with pytest.raises(ValueError, match="rank must be in 1..59, got 60"):
        factorize_conv(weight, 60)
    with pytest.raises(ValueError, match="landmark_rank must be an integer >= 0"):
        FaceAnchorHead(in_channels=[16, 24], num_landmarks=5, landmark_rank=-1)
    with pytest.raises(ValueError, match="no full landmark conv"):
        factorize_landmark_state({"boxes0.weight": np.zeros((8, 16, 3, 3), np.float32)}, 10)


def test_factorize_tool_writes_weights_of_the_low_rank_model(tmp_path, capsys):
    from safetensors.numpy import load_file, save_file

    full = _full_head_of_rank(10)
    save_file({f"blaze_head.{k}": v.numpy() for k, v in full.state_dict().items()}, str(tmp_path / "full.safetensors"))
    assert load_tool("factorize_landmarks").main([str(tmp_path / "full"), str(tmp_path / "low.safetensors")]) == 0
    assert "landmark convs at rank 10" in capsys.readouterr().out
    low = FaceAnchorHead(in_channels=[16, 24], num_landmarks=5, landmark_rank=10)
    written = load_file(str(tmp_path / "low.safetensors"))
    assert sorted(written) == sorted(f"blaze_head.{k}" for k in low.state_dict())
    with pytest.raises(SystemExit, match="no full landmark conv"):
        load_tool("factorize_landmarks").main([str(tmp_path / "low.safetensors"), str(tmp_path / "again.safetensors")])


ANCHORS = paddle.to_tensor([[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.7, 0.7], [0.6, 0.1, 0.9, 0.4]])


def _points(box, rel=(0.3, 0.4, 0.7, 0.4, 0.5, 0.6, 0.35, 0.8, 0.65, 0.8)):
    x1, y1, x2, y2 = box
    rel = np.asarray(rel, np.float32).reshape(5, 2)
    return (np.array([x1, y1]) + rel * [x2 - x1, y2 - y1]).reshape(-1).astype(np.float32)


def test_landmark_loss_is_zero_for_exact_offsets_and_masks_faces_without_points():
    gt = np.array([[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.7, 0.7], [0.6, 0.1, 0.9, 0.4]], np.float32)
    matched = np.stack([_points(b) for b in gt])[None]  # anchor i matched with face i
    matched[0, 2] = np.nan                              # face 2 has no landmarks
    positive = paddle.to_tensor([[True, True, True]])
    exact = CODER.encode_points(paddle.to_tensor(np.nan_to_num(matched)), ANCHORS.unsqueeze(0))
    pred = exact.numpy().copy()
    pred[0, 2] += 100.0  # wrong, but its face has no landmarks: masked
    loss = landmark_loss([paddle.to_tensor(pred)], paddle.to_tensor(matched), ANCHORS, CODER, positive)
    assert float(loss) == pytest.approx(0.0, abs=1e-6)
    pred[0, 1, 0] += 1.0  # 1 off on one coordinate of one of the 2 counted anchors: smooth-L1 0.5, mean 0.25
    loss = landmark_loss([paddle.to_tensor(pred)], paddle.to_tensor(matched), ANCHORS, CODER, positive)
    assert float(loss) == pytest.approx(0.25, rel=1e-4)
    none = landmark_loss([paddle.to_tensor(pred)], paddle.to_tensor(np.full_like(matched, np.nan)), ANCHORS, CODER,
                         positive)
    assert float(none) == 0.0 and np.isfinite(float(none))


@pytest.mark.parametrize("loss_cls", [BlazeFaceSSDLoss, SSHLoss])
def test_losses_add_the_landmark_term_and_leave_the_box_terms_alone(loss_cls):
    paddle.seed(0)
    head = FaceAnchorHead(in_channels=[16, 24], num_landmarks=5)
    feats = [paddle.randn([2, 16, 8, 8]), paddle.randn([2, 24, 4, 4])]
    deltas, logits, anchors = head(feats, paddle.randn([2, 3, 64, 64]))
    boxes = np.array([[[0.1, 0.1, 0.4, 0.45], [0.5, 0.5, 0.9, 0.95]], [[0.2, 0.2, 0.35, 0.37], [0, 0, 0, 0]]],
                     np.float32)
    points = np.stack([np.stack([_points(b) for b in img]) for img in boxes])
    points[1, 1] = np.nan  # the padding row
    gt, cls = paddle.to_tensor(boxes), paddle.zeros([2, 2, 1], "int32")
    loss = loss_cls(landmark_loss_weight=0.5)
    paddle.seed(1)
    plain = loss(deltas, logits, gt, cls, anchors, head.box_coder)
    paddle.seed(1)
    out = loss(deltas, logits, gt, cls, anchors, head.box_coder, landmarks=head.landmark_deltas(feats),
               gt_landmarks=paddle.to_tensor(points))
    assert "loss_landmarks" not in plain and float(out["loss_landmarks"]) > 0
    for key in ("loss_loc", "loss_conf", "num_pos"):
        assert float(out[key]) == pytest.approx(float(plain[key]), rel=1e-6)
    assert float(out["loss"]) == pytest.approx(float(plain["loss"]) + float(out["loss_landmarks"]), rel=1e-5)
    out["loss"].backward()
    grads = [float(p.grad.abs().sum()) for n, p in head.named_parameters() if n.startswith("landmarks0")]
    assert all(g > 0 for g in grads)  # the small faces' anchors are on level 0


@pytest.fixture(scope="module")
def kps_model():
    """The kps demo model with box and landmark convs zeroed: every box is its anchor and every point the anchor's
    centre plus the landmark bias (in anchor sizes x variance)."""
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config

    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_kps_demo.yml"))
    paddle.seed(0)
    model = create(cfg.architecture)
    model.eval()
    head = model.head
    for conv in head.box_convs + head.landmark_convs:
        conv.weight.set_value(paddle.zeros_like(conv.weight))
        conv.bias.set_value(paddle.zeros_like(conv.bias))
    bias = np.tile(np.arange(10, dtype=np.float32) / 10.0, 6)  # point k offset (k/10) in every prior's slot
    for conv in head.landmark_convs:
        conv.bias.set_value(paddle.to_tensor(bias[:conv.bias.shape[0]]))
    return model


def test_kps_detections_carry_their_own_anchors_points_in_original_pixels(kps_model):
    assert kps_model.record == {"class": 1, "score": 1, "box": 4, "landmarks": 10}
    image = paddle.to_tensor(np.random.default_rng(0).normal(0, 1, (1, 3, 160, 224)).astype(np.float32))
    scale = paddle.to_tensor([[0.5, 0.8]])  # the input is the original resized by 0.5 (y) and 0.8 (x)
    with paddle.no_grad():
        bbox, num = kps_model.detect(image, paddle.to_tensor([[160.0, 224.0]]), scale, with_nms=True)
    rows = bbox.numpy()
    assert rows.shape[1] == 16 and int(num[0]) == len(rows) > 0
    inside = (rows[:, 2] > 0) & (rows[:, 3] > 0) & (rows[:, 4] < 224 / 0.8) & (rows[:, 5] < 160 / 0.5)
    assert inside.sum() > 0
    for row in rows[inside]:  # unclipped rows: the box is the anchor (original pixels)
        centre, size = (row[2:4] + row[4:6]) / 2, row[4:6] - row[2:4]
        expected = centre + (np.arange(10).reshape(5, 2) / 10.0) * 0.1 * size
        np.testing.assert_allclose(row[6:].reshape(5, 2), expected, rtol=1e-4, atol=1e-2)


def test_landmark_learning_rate_multiplier_reaches_the_optimizer():
    head = FaceAnchorHead(in_channels=[16, 24], num_landmarks=5, landmark_lr=10.0)
    rates = {n: p.optimize_attr["learning_rate"] for n, p in head.named_parameters()}
    assert rates["landmarks0.weight"] == rates["landmarks1.bias"] == 10.0 and rates["boxes0.weight"] == 1.0
    with pytest.raises(ValueError, match="landmark_lr must be > 0"):
        FaceAnchorHead(in_channels=[16, 24], num_landmarks=5, landmark_lr=0)
