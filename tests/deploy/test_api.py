"""ppdet_face_deploy.FaceDetector / Faces: the one-line API on the bundled models and on export folders."""
import json
import re

import cv2
import numpy as np
import pytest

from eval_tools.boxes import box_iou
from helpers import PORTRAIT_FACE, real_photo, skip_without_bf16
from ppdet_face_deploy import BUNDLED_MODELS, DeployError, FaceDetector, Faces
from ppdet_face_deploy.runners import installed_backends


@pytest.fixture(scope="module")
def portrait(tmp_path_factory):
    path = tmp_path_factory.mktemp("api") / "portrait.jpg"
    cv2.imwrite(str(path), real_photo())
    return str(path)


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime", "paddle"])
def test_default_model_finds_the_one_face_of_a_real_portrait_on_every_backend(portrait, backend):
    faces = FaceDetector(backend=backend, cpu_threads=2).detect(portrait)
    assert isinstance(faces, Faces) and len(faces) == 1 and faces.source == portrait
    assert faces.boxes.shape == (1, 4) and faces.scores.shape == (1,) and faces.scores[0] >= 0.9
    assert box_iou(faces.boxes[0], np.array([PORTRAIT_FACE], np.float32))[0] >= 0.5
    assert faces.image_shape == (600, 512) and faces.landmarks is None


def test_backends_agree_and_auto_is_the_first_installed(portrait):
    results = {b: FaceDetector(backend=b, cpu_threads=2).detect(portrait) for b in ("onnxruntime", "paddle")}
    np.testing.assert_allclose(results["onnxruntime"].detections, results["paddle"].detections, atol=1e-3)
    assert FaceDetector(cpu_threads=2).backend == installed_backends()[0] == "onnxruntime"


def test_lists_arrays_and_bf16(portrait):
    skip_without_bf16()
    assert FaceDetector(precision="bf16", cpu_threads=2).backend == "openvino"  # auto: the bf16 runtime
    det = FaceDetector(model="blazeface_fpn_ssh", backend="openvino", precision="bf16", batch_size=2, cpu_threads=2)
    out = det.detect([portrait, cv2.imread(portrait), real_photo(300)])
    assert [len(f) for f in out] == [1, 1, 1] and out[1].source is None
    np.testing.assert_allclose(out[0].boxes, out[1].boxes, atol=1e-3)
    assert out[2].image_shape == (300, 256)


def test_threshold_draw_and_json(portrait):
    everything = FaceDetector(threshold=0.0, cpu_threads=2).detect(portrait)
    assert len(everything) > 1 and np.all(np.diff(everything.scores) <= 0)  # best first
    faces = FaceDetector(cpu_threads=2).detect(portrait)
    drawn = faces.draw()
    assert drawn.shape == faces.image.shape and (drawn != faces.image).any()
    record = json.loads(faces.to_json())
    assert record["image_file"] == portrait and (record["height"], record["width"]) == (600, 512)
    assert [d["label"] for d in record["detections"]] == ["face"]
    assert record["detections"][0]["bbox"] == pytest.approx(faces.boxes[0].tolist(), abs=1e-3)
    assert "1 found, image 512x600" in repr(faces)


@pytest.mark.parametrize("name", BUNDLED_MODELS)
def test_every_bundled_model_runs_by_name(portrait, name):
    assert len(FaceDetector(model=name, backend="onnxruntime", cpu_threads=2).detect(portrait)) >= 1


def test_an_export_folder_is_a_model(fixed_export, portrait):
    faces = FaceDetector(model=fixed_export[1], backend="onnxruntime", threshold=0.0).detect(portrait)
    assert faces.detections.shape[1] == 6


def test_errors_are_one_clear_line(portrait, tmp_path):
    with pytest.raises(DeployError, match=re.escape("model 'yunet' is neither a bundled model nor an export folder; "
                                                    "bundled: blazeface_fpn_ssh_1000e, blazeface_1000e")):
        FaceDetector(model="yunet")
    with pytest.raises(DeployError, match=f"{tmp_path}: no infer_cfg.yml"):
        FaceDetector(model=tmp_path)
    with pytest.raises(DeployError, match="backend 'tensorrt' is not supported; allowed values: auto, paddle"):
        FaceDetector(backend="tensorrt")
    with pytest.raises(DeployError, match="--precision bf16 is for --backend openvino"):
        FaceDetector(backend="onnxruntime", precision="bf16")
    with pytest.raises(DeployError, match="unknown detector option 'thread'"):
        FaceDetector(thread=2)
    with pytest.raises(DeployError, match="missing.jpg: file not found"):
        FaceDetector(backend="onnxruntime").detect(str(tmp_path / "missing.jpg"))
    with pytest.raises(DeployError, match="no image to draw on"):
        Faces(np.zeros((0, 6), np.float32), (10, 10)).draw()
