"""ppdet_face/data/landmark_labels.py and tools/label_landmarks.py: faces take the points of the detection that
overlaps them (IoU >= 0.5), the others none; YuNet labels real WIDER training faces into a RetinaFace label.txt."""
import numpy as np

from eval_tools.retinaface_labels import read_retinaface_labels
from helpers import load_tool
from ppdet_face.data.landmark_labels import label_faces


def test_each_face_takes_the_points_of_its_own_detection():
    gt = np.array([[0.0, 0, 10, 10], [100, 100, 20, 20], [300, 300, 10, 10]])  # x y w h
    det_boxes = np.array([[101.0, 101, 120, 121], [1, 0, 10, 10], [300, 300, 330, 330]])  # the last: IoU 0.11
    points = np.arange(30, dtype=np.float64).reshape(3, 5, 2)
    out, conf = label_faces(gt, (det_boxes, np.array([0.9, 0.8, 0.95]), points))
    np.testing.assert_array_equal(out[0], points[1])
    np.testing.assert_array_equal(out[1], points[0])
    assert np.isnan(out[2]).all() and np.isnan(conf[2]) and conf[0] == 0.8


def test_tool_labels_real_training_faces(shared, tmp_path):
    from eval_tools.wider_format import read_gt_txt, write_gt_txt

    real = shared / "data" / "wider_face_real"
    records = read_gt_txt(real / "wider_face_split" / "wider_face_train_bbx_gt.txt")[:3]
    (tmp_path / "wider_face_split").mkdir()
    write_gt_txt(tmp_path / "wider_face_split" / "wider_face_train_bbx_gt.txt", [(r.name, r.rows) for r in records])
    for r in records:
        link = tmp_path / "WIDER_train" / "images" / r.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(real / "WIDER_train" / "images" / r.name)
    out = tmp_path / "label.txt"
    assert load_tool("label_landmarks").main(["--dataset_dir", str(tmp_path), "--out", str(out)]) == 0
    labelled = read_retinaface_labels(out)
    assert [im.name for im in labelled] == [r.name for r in records]
    assert sum(len(im.boxes) for im in labelled) == sum(len(r.rows) for r in records)
    with_points = [im for im in labelled if im.has_points.any()]
    assert with_points
    for im in with_points:
        box, points = im.boxes[im.has_points], im.points[im.has_points]
        inside = (points[..., 0] >= box[:, None, 0] - 0.2 * box[:, None, 2]) & \
                 (points[..., 0] <= box[:, None, 0] + 1.2 * box[:, None, 2])
        assert inside.mean() > 0.95  # YuNet's points of a matched face lie on that face
