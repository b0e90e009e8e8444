"""PaddleDetection's published face models, shipped in pretrained/: byte-identical to the shared copies,
computed exactly as by PaddleDetection's own classes on real photos, and finding the face of a real portrait."""
import hashlib
import re

import cv2
import numpy as np
import paddle
import pytest

from devtools.upstream import build_upstream
from eval_tools.boxes import box_iou
from helpers import CONFIGS, PORTRAIT_FACE, REPO, load_tool, normalize, real_photo, shared_dir, skip_without_bf16

#: name -> (config, upstream neck_type, upstream act)
PUBLISHED = {
    "blazeface_fpn_ssh_1000e": ("blazeface_fpn_ssh_1000e.yml", "fpn_ssh", "hard_swish"),
    "blazeface_1000e": ("blazeface_1000e.yml", "None", "relu"),
}


def _weights(name):
    return REPO / "pretrained" / f"{name}.safetensors"


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build(name):
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import load_weights

    config, neck_type, act = PUBLISHED[name]
    upstream = build_upstream(neck_type, act=act)  # first: it resets ppdet's global config
    load_weights(upstream, str(_weights(name)))
    cfg = load_config(str(CONFIGS / "face_detection" / config))
    ours = create(cfg.architecture)
    load_weights(ours, str(_weights(name)))  # strict: every tensor, every shape
    ours.eval()
    upstream.eval()
    return cfg, ours, upstream


def _wider_subset_photos():
    folder = shared_dir() / "data" / "wider_face_val_subset" / "WIDER_val" / "images"
    if not folder.is_dir():
        pytest.skip(f"the 9 real WIDER val images are not at {folder} (set PPDET_FACE_SHARED)")
    return [cv2.imread(str(p)) for p in sorted(folder.rglob("*.jpg"))]


@pytest.mark.parametrize("name", PUBLISHED)
def test_shipped_weights_are_the_published_files_of_the_model_card(name):
    card = (REPO / "pretrained" / f"{name}.md").read_text()
    assert _sha256(_weights(name)) in card
    assert "Apache-2.0" in card and "non-commercial research" in card and "multi-scale" in card


@pytest.mark.parametrize("name", PUBLISHED)
def test_shipped_weights_equal_the_shared_copies(name):
    shared = shared_dir() / "weights" / f"{name}.safetensors"
    if not shared.is_file():
        pytest.skip(f"the published weights are not at {shared} (set PPDET_FACE_SHARED)")
    assert _sha256(shared) == _sha256(_weights(name))


def _assert_same_outputs(ours, upstream, photos, neck_type):
    for bgr in photos:
        x = paddle.to_tensor(normalize(bgr)[None])
        with paddle.no_grad():
            feats = upstream.backbone({"image": x})
            if neck_type != "None":
                feats = upstream.neck(feats)
            (boxes, scores), _ = upstream.blaze_head(feats, x)
            deltas, logits, _ = ours.head_outputs(x)
        for a, b in zip(boxes + scores, deltas + logits):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_weights_compute_what_upstream_computes_on_a_real_portrait(name):
    _, ours, upstream = _build(name)
    _assert_same_outputs(ours, upstream, [real_photo()], PUBLISHED[name][1])


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_weights_compute_what_upstream_computes_on_real_wider_photos(name):
    photos = _wider_subset_photos()
    _, ours, upstream = _build(name)
    _assert_same_outputs(ours, upstream, [cv2.resize(p, None, fx=0.5, fy=0.5) for p in photos[:3]],
                         PUBLISHED[name][1])


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_model_finds_exactly_the_portrait_face(name):
    from ppdet_face.evaluation import WiderFacePredictor

    cfg, ours, _ = _build(name)
    predictor = WiderFacePredictor.from_config(cfg, ours, backend="dygraph")
    det = predictor.predict_single_scale(cv2.cvtColor(real_photo(), cv2.COLOR_BGR2RGB))
    confident = det[det[:, 4] >= 0.5]
    assert len(confident) == 1, confident
    assert box_iou(PORTRAIT_FACE, confident[:, :4]).max() >= 0.6, confident


def test_fpn_ssh_config_documents_the_published_activation():
    text = (CONFIGS / "face_detection" / "_base_" / "blazeface_fpn.yml").read_text()
    assert re.search(r"^\s+act: hard_swish", text, re.M)


@pytest.fixture(scope="module")
def published_fpn_ssh_export(tmp_path_factory):
    """tools/export_model.py -o weights=pretrained/blazeface_fpn_ssh_1000e --format onnx: the export folder."""
    name = "blazeface_fpn_ssh_1000e"
    out = tmp_path_factory.mktemp("published_export")
    config = str(CONFIGS / "face_detection" / PUBLISHED[name][0])
    load_tool("export_model").main(["-c", config, "-o", f"weights=pretrained/{name}", "--format", "onnx",
                                    "--output_dir", str(out)])
    return str(out / name)


@pytest.mark.parametrize("backend,precision", [("paddle", "f32"), ("onnxruntime", "f32"), ("openvino", "f32"),
                                               ("openvino", "bf16")])
def test_published_fpn_ssh_exported_by_the_tool_finds_the_portrait_face_on_every_runtime(
        published_fpn_ssh_export, backend, precision):
    """tools/export_model.py -o weights=pretrained/... -> deploy's Detector (Paddle + oneDNN, ONNX Runtime,
    OpenVINO f32 and bf16): the same single face as the dygraph model."""
    from ppdet_face_deploy.infer import Detector

    if precision == "bf16":
        skip_without_bf16()
    det = Detector(published_fpn_ssh_export, backend=backend, precision=precision, cpu_threads=2)
    out = det.predict([real_photo()])[0]  # rows: class, score, x1, y1, x2, y2
    confident = out[out[:, 1] >= 0.5]
    assert len(confident) == 1, confident
    assert box_iou(PORTRAIT_FACE, confident[:, 2:6]).max() >= 0.6, confident
