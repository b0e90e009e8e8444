"""Aligned face crops: the similarity transform onto the ArcFace template, on a synthetic face with known points,
and --save_crops of infer.py / ppdet-face on an export whose record has landmarks."""
import cv2
import numpy as np
import paddle
import pytest

from helpers import CONFIGS, blob_images
from ppdet_face_deploy.align import ARCFACE_112, align_face, similarity_transform
from ppdet_face_deploy.preprocess import DeployError

COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 0, 255)]


def _face_with_dots(angle=25.0, scale=2.3, shift=(140.0, 90.0)):
    """A 400 x 400 image with the template's five points moved by a known similarity, each a coloured dot."""
    a = np.deg2rad(angle)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    points = ARCFACE_112 @ rot.T + np.array(shift)
    image = np.full((400, 400, 3), 90, np.uint8)
    for (x, y), colour in zip(points, COLOURS):
        cv2.circle(image, (int(round(x)), int(round(y))), 4, colour, -1)
    return image, points


def test_similarity_transform_recovers_a_known_one():
    _, points = _face_with_dots()
    matrix = similarity_transform(points, ARCFACE_112)
    np.testing.assert_allclose(np.c_[points, np.ones(5)] @ matrix.T, ARCFACE_112, atol=1e-9)
    with pytest.raises(DeployError, match="coincide"):
        similarity_transform(np.ones((5, 2)), ARCFACE_112)


def test_aligned_crop_puts_each_point_on_the_template():
    image, points = _face_with_dots()
    crop = align_face(image, points)
    assert crop.shape == (112, 112, 3)
    for (tx, ty), colour in zip(ARCFACE_112, COLOURS):
        ys, xs = np.nonzero(np.all(np.abs(crop.astype(int) - colour) < 60, axis=2))
        assert len(xs) > 3
        assert abs(xs.mean() - tx) < 1.5 and abs(ys.mean() - ty) < 1.5


@pytest.fixture(scope="module")
def landmark_export(tmp_path_factory):
    """An export whose record has ``landmarks``: the template's points placed in each anchor's box."""
    from ppdet.core.workspace import create

    from ppdet_face.data.preprocess import normalization
    from ppdet_face.engine import load_config
    from ppdet_face.export import export_model, init_random_weights

    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"))
    model = create(cfg.architecture)
    init_random_weights(model, seed=1, face_logit_bias=-8.0, normalization=normalization(cfg, "TestReader"))
    def decode_extras(feats, anchors, image, scale_factor):
        rel = paddle.to_tensor((ARCFACE_112 / 112.0).astype(np.float32))               # [5, 2], traced as a constant
        in_hw = paddle.cast(paddle.shape(image)[2:4], "float32")
        size = in_hw.unsqueeze(0) / scale_factor
        wh = paddle.concat([size[:, 1:2], size[:, 0:1]], axis=1).unsqueeze(1).unsqueeze(1)  # [B, 1, 1, 2]
        lo, span = anchors[:, 0:2].unsqueeze(1), (anchors[:, 2:4] - anchors[:, 0:2]).unsqueeze(1)
        points = (lo + span * rel.unsqueeze(0)).unsqueeze(0) * wh                         # [B, A, 5, 2]
        return points.reshape([paddle.shape(points)[0], paddle.shape(points)[1], 10])

    model.extra_fields = {"landmarks": 10}
    model.decode_extras = decode_extras
    return export_model(model, cfg, str(tmp_path_factory.mktemp("landmarks")), fmt="onnx")


def test_save_crops_of_both_commands(landmark_export, tmp_path):
    from ppdet_face_deploy import FaceDetector
    from ppdet_face_deploy.cli import main as ppdet_face
    from ppdet_face_deploy.infer import main as infer

    image = tmp_path / "in" / "blobs.jpg"
    image.parent.mkdir()
    cv2.imwrite(str(image), blob_images()[0])
    faces = FaceDetector(model=landmark_export, backend="onnxruntime", threshold=0.05).detect(str(image))
    assert len(faces) >= 1 and faces.landmarks.shape == (len(faces), 5, 2)
    assert [c.shape for c in faces.crops()] == [(112, 112, 3)] * len(faces)
    assert ppdet_face(["detect", str(image), "--model", landmark_export, "--backend", "onnxruntime",
                       "--threshold", "0.05", "--save_crops", str(tmp_path / "a")]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"blobs_face{i}.jpg" for i in range(len(faces))]
    assert infer(["--model_dir", landmark_export, "--image_dir", str(image.parent), "--threshold", "0.05",
                  "--backend", "onnxruntime", "--output_dir", str(tmp_path / "vis"),
                  "--save_crops", str(tmp_path / "b")]) == 0
    assert len(list((tmp_path / "b").iterdir())) == len(faces)


def test_save_crops_without_landmarks_is_one_error_line(capsys, tmp_path):
    from ppdet_face_deploy.cli import main as ppdet_face

    image = tmp_path / "x.jpg"
    cv2.imwrite(str(image), blob_images()[0])
    assert ppdet_face(["detect", str(image), "--backend", "onnxruntime", "--save_crops", str(tmp_path / "c")]) == 1
    assert "error: --save_crops needs a model with landmarks; blazeface_fpn_ssh_1000e's record has class, score, " \
           "box" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    with pytest.raises(DeployError, match="aligned crops need landmarks"):
        from ppdet_face_deploy import FaceDetector

        FaceDetector(backend="onnxruntime").detect(str(image)).crops()
