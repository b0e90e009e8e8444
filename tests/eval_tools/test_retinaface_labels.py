"""eval_tools/retinaface_labels.py: RetinaFace's label.txt round-trips, faces without landmarks are -1, errors name
the line."""
import numpy as np
import pytest

from eval_tools.retinaface_labels import (
    LabelledImage,
    RetinaFaceLabelError,
    read_retinaface_labels,
    write_retinaface_labels,
)

RETINAFACE_LINES = """# 0--Parade/0_Parade_marchingband_1_849.jpg
449 330 122 149 488.906 373.643 0.0 542.089 376.442 0.0 515.031 412.83 0.0 485.833 425.893 0.0 538.357 431.491 0.0 0.82
# 0--Parade/0_Parade_Parade_0_904.jpg
361 98 263 339 424.143 251.656 0.0 547.134 232.571 0.0 494.121 325.875 0.0 453.83 368.286 0.0 561.978 342.839 0.0 0.89
78 221 7 8 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0 -1.0
10 20 30 40
"""


def test_reads_retinafaces_own_lines(tmp_path):
    path = tmp_path / "label.txt"
    path.write_text(RETINAFACE_LINES)
    first, second = read_retinaface_labels(path)
    assert first.name == "0--Parade/0_Parade_marchingband_1_849.jpg"
    np.testing.assert_allclose(first.boxes, [[449, 330, 122, 149]])
    np.testing.assert_allclose(first.points[0, 0], [488.906, 373.643])
    assert first.confidence[0] == pytest.approx(0.82)
    assert second.has_points.tolist() == [True, False, False] and len(second.boxes) == 3


def test_write_then_read_is_the_same(tmp_path):
    points = np.array([[[1.5, 2.5], [3, 4], [5, 6], [7, 8], [9, 10]], np.full((5, 2), np.nan)])
    image = LabelledImage("e/a.jpg", np.array([[1.0, 2, 30, 40], [5, 6, 7, 8]]), points, np.array([0.9, np.nan]))
    write_retinaface_labels(tmp_path / "l.txt", [image])
    (back,) = read_retinaface_labels(tmp_path / "l.txt")
    np.testing.assert_allclose(back.boxes, image.boxes)
    np.testing.assert_allclose(back.points[0], points[0], atol=1e-3)
    assert back.has_points.tolist() == [True, False]


@pytest.mark.parametrize("text,message", [("1 2 3 4\n", ":1: a face before the first"),
                                          ("# a.jpg\n1 2 3\n", ":2: 3 values; expected 4"),
                                          ("# a.jpg\n1 2 x 4\n", ":2: not numbers")])
def test_malformed_lines_name_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(RetinaFaceLabelError, match=message):
        read_retinaface_labels(path)
