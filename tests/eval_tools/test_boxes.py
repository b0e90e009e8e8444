"""eval_tools/boxes.py: conversions and IoU on hand-computed cases."""
import numpy as np

from eval_tools.boxes import box_iou, corners_to_wider, split_by_count, xywh_to_corners


def test_box_iou_hand_computed():
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 5, 5]])
    np.testing.assert_allclose(box_iou([0, 0, 10, 10], boxes), [1.0, 50 / 150, 0.0, 25 / 100])
    assert box_iou([0, 0, 1, 1], np.zeros((0, 4))).shape == (0,)


def test_conversions_round_trip():
    corners = xywh_to_corners(np.array([[1, 2, 3, 4, 0.9]]))
    np.testing.assert_array_equal(corners, [[1, 2, 4, 6]])
    wider = corners_to_wider(np.array([[1, 2, 4, 6, 0.5], [0, 0, 1, 1, 0.9]]))
    np.testing.assert_allclose(wider, [[0, 0, 1, 1, 0.9], [1, 2, 3, 4, 0.5]])
    parts = split_by_count(np.arange(5), [2, 0, 3])
    assert [p.tolist() for p in parts] == [[0, 1], [], [2, 3, 4]]
