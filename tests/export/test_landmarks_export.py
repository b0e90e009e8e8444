"""A landmark model (the kps config's head, num_landmarks 5) through export (Paddle and ONNX), every deploy runtime
and precision, the Python API, the JSON record and the drawn picture: the ten coordinates of each row are those
dygraph computes."""
import json

import numpy as np
import paddle
import pytest

from helpers import CONFIGS, blob_images, normalize, skip_without_bf16


@pytest.fixture(scope="module")
def kps_export(tmp_path_factory):
    from ppdet.core.workspace import create

    from ppdet_face.data.preprocess import normalization
    from ppdet_face.engine import load_config
    from ppdet_face.export import export_model, init_random_weights

    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_kps_demo.yml"))
    model = create(cfg.architecture)
    init_random_weights(model, seed=1, face_logit_bias=-8.0, normalization=normalization(cfg, "TestReader"))
    return model, export_model(model, cfg, str(tmp_path_factory.mktemp("kps")), fmt="onnx")


def _reference(model, bgr):
    x = normalize(bgr)[None]
    with paddle.no_grad():
        bbox, _ = model.detect(paddle.to_tensor(x), paddle.to_tensor(np.array([x.shape[2:]], np.float32)),
                               paddle.to_tensor(np.ones((1, 2), np.float32)))
    return bbox.numpy()


def _iou(a, b):
    lo, hi = np.maximum(a[:2], b[:, :2]), np.minimum(a[2:], b[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    return inter / (np.prod(a[2:] - a[:2]) + np.prod(b[:, 2:] - b[:, :2], axis=1) - inter)


@pytest.mark.parametrize("backend,precision", [("paddle", "f32"), ("onnxruntime", "f32"), ("openvino", "f32")])
def test_every_runtime_returns_dygraphs_landmarks(kps_export, backend, precision):
    from ppdet_face_deploy.detector import Detector

    model, save_dir = kps_export
    bgr = blob_images()[0]
    ref = _reference(model, bgr)
    det = Detector(save_dir, backend=backend, precision=precision, cpu_threads=2)
    assert det.layout.extras == ("landmarks",) and ref.shape[1] == 16 and len(ref) > 5
    (rows,) = det.predict([bgr])
    assert rows.shape == ref.shape
    order, ref_order = np.lexsort(rows[:, ::-1].T), np.lexsort(ref[:, ::-1].T)
    np.testing.assert_allclose(rows[order], ref[ref_order], atol=1e-2)


def test_bf16_rows_keep_their_landmarks(kps_export):
    """bf16 changes scores and boxes (random weights amplify it; the kept set differs): each bf16 row that overlaps
    an f32 row (IoU >= 0.85) repeats that row's points to within 8 % of the face size."""
    from ppdet_face_deploy.detector import Detector

    _, save_dir = kps_export
    bgr = blob_images()[0]
    (f32,) = Detector(save_dir, backend="openvino", precision="f32", cpu_threads=2).predict([bgr])
    skip_without_bf16()
    (bf16,) = Detector(save_dir, backend="openvino", precision="bf16", cpu_threads=2).predict([bgr])
    assert bf16.shape[1] == 16
    matched = 0
    for row in bf16[bf16[:, 1] > 0.02]:
        iou = _iou(row[2:6], f32[:, 2:6])
        if iou.max() < 0.85:
            continue
        ref = f32[int(np.argmax(iou))]
        assert np.abs(row[6:] - ref[6:]).max() < 0.08 * max(ref[4] - ref[2], ref[5] - ref[3]) + 1.0
        matched += 1
    assert matched >= 4


def test_api_json_and_picture_show_the_landmarks(kps_export):
    from ppdet_face_deploy import FaceDetector

    model, save_dir = kps_export
    bgr = blob_images()[0]
    faces = FaceDetector(model=save_dir, backend="onnxruntime", threshold=0.0).detect(bgr)
    ref = _reference(model, bgr)
    assert faces.landmarks.shape == (len(faces), 5, 2) and len(faces) == len(ref)
    np.testing.assert_allclose(np.sort(faces.landmarks.reshape(len(faces), -1), axis=0),
                               np.sort(ref[:, 6:], axis=0), atol=1e-2)
    record = json.loads(faces.to_json())["detections"][0]
    assert sorted(record) == ["bbox", "class_id", "label", "landmarks", "score"] and len(record["landmarks"]) == 10
    drawn = faces.draw()  # the last face's points are drawn last: red dots where they are
    h, w = drawn.shape[:2]
    inside = [(int(round(x)), int(round(y))) for x, y in faces.landmarks[-1] if 0 <= x < w - 0.5 and 0 <= y < h - 0.5]
    assert inside and all(drawn[y, x].tolist() == [0, 0, 255] for x, y in inside)


def test_nme_benchmark_measures_an_export_with_landmarks(kps_export, tmp_path):
    from benchmarks.landmarks_nme import landmark_row, ours_detect, synthetic_ground_truth

    _, save_dir = kps_export
    faces = synthetic_ground_truth(tmp_path, 3)
    detect, fields = ours_detect(save_dir, threads=2)
    assert fields == ("class", "score", "box", "landmarks")
    name, matched, mean, failures = landmark_row("kps", detect, tmp_path / "WIDER_val" / "images", faces)
    assert matched.endswith(f"/ {sum(len(f.boxes) for f in faces)}") and float(failures) <= 1.0
    assert ours_detect("blazeface_fpn_ssh_1000e", threads=2) == (None, ("class", "score", "box"))


def test_an_image_without_faces_has_empty_landmarks_and_crops(kps_export):
    from ppdet_face_deploy import FaceDetector

    _, save_dir = kps_export
    faces = FaceDetector(model=save_dir, backend="onnxruntime", threshold=1.01).detect(blob_images()[0])
    assert len(faces) == 0 and faces.landmarks.shape == (0, 5, 2) and faces.crops() == []
