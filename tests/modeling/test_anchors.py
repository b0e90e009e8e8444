"""Anchors, hand-computed."""
import numpy as np
import paddle
import pytest

from ppdet_face.modeling import FaceAnchors


def test_hand_computed_anchors_first_cells():
    gen = FaceAnchors(steps=[8.0], min_sizes=[[16.0, 24.0]], offset=0.5)
    feat = paddle.zeros([1, 4, 4, 4])  # 4x4 map of a 32x32 image
    image = paddle.zeros([1, 3, 32, 32])
    (anchors,) = gen([feat], image)
    a = anchors.numpy()
    assert a.shape == (4 * 4 * 2, 4)
    # cell (row 0, col 0): centre (4, 4); sizes 16 then 24; normalised by 32
    np.testing.assert_allclose(a[0], [-4 / 32, -4 / 32, 12 / 32, 12 / 32])
    np.testing.assert_allclose(a[1], [-8 / 32, -8 / 32, 16 / 32, 16 / 32])
    # cell (row 0, col 1): centre (12, 4)
    np.testing.assert_allclose(a[2], [4 / 32, -4 / 32, 20 / 32, 12 / 32])
    # last cell (row 3, col 3), size 24: centre (28, 28)
    np.testing.assert_allclose(a[-1], [16 / 32, 16 / 32, 40 / 32, 40 / 32])


def test_non_square_input_normalises_x_by_width_and_y_by_height():
    gen = FaceAnchors(steps=[16.0], min_sizes=[[32.0]], offset=0.5)
    (anchors,) = gen([paddle.zeros([1, 1, 2, 3])], paddle.zeros([1, 3, 32, 48]))
    np.testing.assert_allclose(anchors.numpy()[4], [(24 - 16) / 48, (24 - 16) / 32, (24 + 16) / 48, (24 + 16) / 32])


def test_default_num_priors_and_total_count_at_640():
    gen = FaceAnchors()
    assert gen.num_priors == [2, 6]
    feats = [paddle.zeros([1, 1, 80, 80]), paddle.zeros([1, 1, 40, 40])]
    anchors = gen(feats, paddle.zeros([1, 3, 640, 640]))
    assert [int(a.shape[0]) for a in anchors] == [80 * 80 * 2, 40 * 40 * 6]


@pytest.mark.parametrize("kwargs", [dict(steps=[8.0, 16.0], min_sizes=[[16.0]]), dict(steps=[8.0], min_sizes=[[]]),
                                    dict(steps=[8.0], min_sizes=[[-4.0]])])
def test_invalid_anchor_options_are_rejected(kwargs):
    with pytest.raises(ValueError):
        FaceAnchors(**kwargs)
