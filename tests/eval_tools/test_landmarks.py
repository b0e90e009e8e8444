"""eval_tools/landmarks.py: the 68 -> 5 reduction, the dlib XML reader and NME / failure rate over matched faces."""
import numpy as np
import pytest

from eval_tools.landmarks import FIVE_POINTS, evaluate_landmarks, five_from_68, read_dlib_landmarks


def _face(x0=100.0, y0=50.0, size=100.0):
    """68 points of a frontal face in a box at (x0, y0) of side ``size`` (only the used ones matter)."""
    p = np.zeros((68, 2))
    p[36:42] = [x0 + 0.3 * size, y0 + 0.4 * size]   # the eye on the image's left
    p[42:48] = [x0 + 0.7 * size, y0 + 0.4 * size]
    p[30] = [x0 + 0.5 * size, y0 + 0.6 * size]
    p[48], p[54] = [x0 + 0.35 * size, y0 + 0.8 * size], [x0 + 0.65 * size, y0 + 0.8 * size]
    return p


def test_five_points_are_eye_centres_nose_tip_and_mouth_corners():
    p = _face()
    p[36] += 6.0  # one eye point moves by (6, 6): the centre moves by 1/6 of it
    five = five_from_68(p)
    assert len(FIVE_POINTS) == 5 and five.shape == (5, 2)
    np.testing.assert_allclose(five, [[131, 91], [170, 90], [150, 110], [135, 130], [165, 130]])
    with pytest.raises(ValueError, match="68, 2"):
        five_from_68(np.zeros((5, 2)))


def test_nme_counts_matched_faces_only_and_failures_above_0_1():
    gt_points = five_from_68(np.stack([_face(), _face(400.0)]))
    from eval_tools.landmarks import LandmarkFaces

    truth = [LandmarkFaces("a.jpg", np.array([[100.0, 50, 200, 150], [400, 50, 500, 150]]), gt_points)]
    shifted = gt_points.copy()
    shifted[0] += [3.0, 4.0]       # 5 px off on a 100 px face: NME 0.05
    shifted[1] += [12.0, 0.0]      # 12 px: NME 0.12, a failure
    boxes = np.array([[102.0, 52, 198, 150], [401, 50, 500, 149], [700, 700, 720, 720]])
    result = evaluate_landmarks({"a.jpg": (boxes, np.array([0.9, 0.8, 0.99]), np.concatenate(
        [shifted, np.zeros((1, 5, 2))]))}, truth)
    assert (result.matched, result.total) == (2, 2)
    np.testing.assert_allclose(sorted(result.nme), [0.05, 0.12])
    assert result.failure_rate == 0.5
    missed = evaluate_landmarks({}, truth)
    assert missed.matched == 0 and missed.total == 2 and np.isnan(missed.mean)


def test_reads_the_dlib_landmark_files(shared):
    faces = read_dlib_landmarks(str(shared / "data" / "dlib_faces" / "testing_with_face_landmarks.xml"))
    assert len(faces) == 5 and faces[0].image == "2008_002470.jpg"  # 6 images listed, 5 with faces
    first = faces[0]
    np.testing.assert_allclose(first.boxes[0], [274, 181, 326, 234])
    eye_l, eye_r, nose, mouth_l, mouth_r = first.points[0]
    assert eye_l[0] < nose[0] < eye_r[0] and mouth_l[0] < mouth_r[0]  # image left first
    assert eye_l[1] < nose[1] < mouth_l[1]


def test_label_file_faces_keep_only_those_with_points(tmp_path):
    from eval_tools.landmarks import read_label_landmarks
    from eval_tools.retinaface_labels import LabelledImage, write_retinaface_labels

    points = np.arange(10.0).reshape(1, 5, 2)
    write_retinaface_labels(tmp_path / "label.txt", [
        LabelledImage("a/1.jpg", np.array([[10.0, 20, 30, 40], [0, 0, 5, 5]]),
                      np.concatenate([points, np.full((1, 5, 2), np.nan)]), np.array([0.9, np.nan])),
        LabelledImage("a/2.jpg", np.array([[1.0, 1, 2, 2]]), np.full((1, 5, 2), np.nan), np.array([np.nan]))])
    (faces,) = read_label_landmarks(tmp_path / "label.txt")
    assert faces.image == "a/1.jpg" and faces.boxes.tolist() == [[10, 20, 40, 60]]
    np.testing.assert_allclose(faces.points, points)
