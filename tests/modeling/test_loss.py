"""Target assignment and hard-negative mining on hand-made cases."""
import numpy as np
import paddle
import pytest

from ppdet_face.modeling import BlazeFaceSSDLoss
from ppdet_face.modeling.box_coder import BoxCoder
from ppdet_face.modeling.face_loss import assign_targets, mine_hard_negatives

CODER = BoxCoder([0.1, 0.1, 0.2, 0.2])

ANCHORS = paddle.to_tensor([[0.0, 0.0, 0.2, 0.2],    # A0
                            [0.1, 0.1, 0.3, 0.3],    # A1
                            [0.5, 0.5, 0.7, 0.7],    # A2
                            [0.6, 0.6, 0.9, 0.9]])   # A3
GT = paddle.to_tensor([
    [[0.0, 0.0, 0.2, 0.2],        # GT0: IoU 1 with A0, 0.143 with A1
     [0.55, 0.55, 0.75, 0.75],    # GT1: IoU 0.391 with A2 (>= 0.35), 0.209 with A3
     [0.7, 0.7, 0.8, 0.8],        # GT2: best IoU 0.111 (A3) < 0.35 -> forced onto A3
     [0.0, 0.0, 0.0, 0.0]],       # padding: never matches
    [[0.0, 0.0, 0.0, 0.0]] * 4,   # an image without faces
])
CLASSES = paddle.zeros([2, 4, 1], "int32")


def test_positives_threshold_and_forced_match():
    box, cls, pos = assign_targets(GT, CLASSES, ANCHORS, 0.35)
    assert pos.numpy().tolist() == [[True, False, True, True], [False, False, False, False]]
    np.testing.assert_allclose(box.numpy()[0, 0], [0.0, 0.0, 0.2, 0.2])
    np.testing.assert_allclose(box.numpy()[0, 2], [0.55, 0.55, 0.75, 0.75])
    np.testing.assert_allclose(box.numpy()[0, 3], [0.7, 0.7, 0.8, 0.8])
    assert cls.numpy()[0, pos.numpy()[0]].tolist() == [0, 0, 0]


def test_threshold_is_respected():
    _, _, pos = assign_targets(GT, CLASSES, ANCHORS, 0.5)  # GT1 (0.391) now positive only by forcing
    assert pos.numpy()[0].tolist() == [True, False, True, True]
    gt_one = GT[:1, 1:2]  # GT1 alone: forced onto A2 whatever the threshold
    _, _, pos = assign_targets(gt_one, CLASSES[:1, :1], ANCHORS, 0.99)
    assert pos.numpy()[0].tolist() == [False, False, True, False]


def test_padding_order_does_not_matter():
    shuffled = paddle.to_tensor(GT.numpy()[:, [3, 1, 0, 2]])
    _, _, pos = assign_targets(shuffled, CLASSES, ANCHORS, 0.35)
    assert pos.numpy()[0].tolist() == [True, False, True, True]


def test_hard_negative_mining_picks_highest_losses():
    conf = paddle.to_tensor([[0.1, 0.9, 0.5, 0.3, 0.7, 0.2]])
    pos = paddle.to_tensor([[False, False, False, False, True, False]])
    neg = mine_hard_negatives(conf, pos, neg_pos_ratio=2.0, empty_neg_fraction=0.01)
    assert neg.numpy()[0].tolist() == [False, True, True, False, False, False]
    # no positives: ceil(0.01 * 6) = 1 negative, the hardest one
    neg = mine_hard_negatives(conf, paddle.zeros_like(pos), 3.0, 0.01)
    assert neg.numpy()[0].tolist() == [False, True, False, False, False, False]
    # never more negatives than exist
    neg = mine_hard_negatives(conf, paddle.to_tensor([[True, True, True, True, True, False]]), 3.0, 0.01)
    assert neg.numpy()[0].tolist() == [False] * 5 + [True]


def test_encode_decode_round_trip():
    gt = paddle.to_tensor([[[0.1, 0.2, 0.4, 0.35]]])
    anchor = paddle.to_tensor([[0.15, 0.15, 0.35, 0.35]])
    for coder in (CODER, BoxCoder([1.0, 1.0, 1.0, 1.0])):
        delta = coder.encode(gt, anchor.unsqueeze(0))
        np.testing.assert_allclose(coder.decode(delta, anchor).numpy(), gt.numpy(), atol=1e-6)
    np.testing.assert_allclose(CODER.encode(gt, anchor).numpy(), BoxCoder([1, 1, 1, 1]).encode(gt, anchor).numpy()
                               / np.array([0.1, 0.1, 0.2, 0.2]), rtol=1e-5)


def test_loss_value_matches_hand_computation():
    loss_fn = BlazeFaceSSDLoss(overlap_threshold=0.35, neg_pos_ratio=3.0)
    deltas = paddle.zeros([2, 4, 4])
    logits = paddle.zeros([2, 4, 2])  # uniform: CE = log 2 everywhere
    out = loss_fn([deltas], [logits], GT, CLASSES, [ANCHORS], CODER)
    # image 0: 3 positives + 1 negative (all that exist); image 1: ceil(0.04) = 1 negative
    expected_conf = 5 * np.log(2.0) / 3
    delta = CODER.encode(GT[:1, :3], ANCHORS[[0, 2, 3]].unsqueeze(0)).numpy()
    smooth = np.where(np.abs(delta) < 1, 0.5 * delta ** 2, np.abs(delta) - 0.5).sum()
    assert float(out["num_pos"]) == 3
    np.testing.assert_allclose(float(out["loss_conf"]), expected_conf, rtol=1e-5)
    np.testing.assert_allclose(float(out["loss_loc"]), smooth / 3, rtol=1e-5)
    np.testing.assert_allclose(float(out["loss"]), expected_conf + smooth / 3, rtol=1e-5)


def test_loss_without_any_face_is_finite():
    loss_fn = BlazeFaceSSDLoss()
    out = loss_fn([paddle.zeros([1, 4, 4])], [paddle.zeros([1, 4, 2])], paddle.zeros([1, 3, 4]),
                  paddle.zeros([1, 3, 1], "int32"), [ANCHORS], CODER)
    assert np.isfinite(float(out["loss"])) and float(out["num_pos"]) == 0


def _crowd_batch(num_faces, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, 0.95, (batch, num_faces, 2))
    wh = rng.uniform(0.004, 0.05, (batch, num_faces, 2))
    boxes = np.concatenate([xy, np.minimum(xy + wh, 1.0)], axis=-1).astype("float32")
    boxes[1, num_faces // 3:] = 0.0  # the second image is less crowded: padding rows
    return paddle.to_tensor(boxes), paddle.zeros([batch, num_faces, 1], "int32")


def test_blockwise_matching_equals_one_block_on_a_crowd():
    """709 faces (the most crowded training image of the real set) matched in blocks of ~20 boxes
    give exactly the assignment of one IoU matrix over all boxes."""
    gt, cls = _crowd_batch(709)
    grid = np.stack(np.meshgrid(np.arange(40), np.arange(40)), -1).reshape(-1, 2) / 40.0
    anchors = paddle.to_tensor(np.concatenate([grid, grid + 0.03], 1).astype("float32"))
    full = assign_targets(gt, cls, anchors, 0.35, max_iou_elements=10**9)
    blocks = assign_targets(gt, cls, anchors, 0.35, max_iou_elements=2 * 1600 * 20)
    for a, b in zip(full, blocks):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(full[2].numpy().sum()) > 700  # the crowd really produced positives


def test_loss_peak_memory_does_not_grow_with_the_crowd():
    """The IoU block is bounded: the largest intermediate of the matching stays at
    MAX_IOU_ELEMENTS whatever the number of faces (checked through the chunk size)."""
    from ppdet_face.modeling import face_loss

    seen = []
    original = face_loss.pairwise_iou

    def spy(boxes1, boxes2, eps=1e-10):
        out = original(boxes1, boxes2, eps)
        seen.append(int(np.prod(out.shape)))
        return out

    gt, cls = _crowd_batch(709)
    anchors = paddle.to_tensor(np.random.default_rng(1).uniform(0, 1, (5000, 4)).astype("float32"))
    anchors = paddle.concat([paddle.minimum(anchors[:, :2], anchors[:, 2:]),
                             paddle.maximum(anchors[:, :2], anchors[:, 2:])], axis=1)
    face_loss.pairwise_iou = spy
    try:
        assign_targets(gt, cls, anchors, 0.35, max_iou_elements=2 * 5000 * 64)
    finally:
        face_loss.pairwise_iou = original
    assert len(seen) == -(-709 // 64) and max(seen) <= 2 * 5000 * 64


def test_box_coder_rejects_bad_variances():
    for bad in ([0.1, 0.1, 0.2], [0.1, 0.1, 0.2, 0.0]):
        with pytest.raises(ValueError, match="prior_box_var needs 4 positive values"):
            BoxCoder(bad)
