"""The detection record, declared once, carries a detector's extra columns through decode, NMS (Paddle and ONNX),
clipping, export, every deploy runtime, the JSON record and the API.

The fake extra field ``centre`` (2 columns) is each anchor's centre in original pixels: after NMS a row's extras
must be the centre of the anchor its box was decoded from, so a row that picked up another anchor's extras fails."""
import json

import numpy as np
import paddle
import pytest

from helpers import CONFIGS, blob_images, normalize


def _with_centre(model):
    """Make ``model`` output its anchors' centres (original pixels) as the extra field ``centre``."""
    def decode_extras(feats, anchors, image, scale_factor):
        in_hw = paddle.cast(paddle.shape(image)[2:4], "float32")
        size = in_hw.unsqueeze(0) / scale_factor                                  # [B, 2] original H, W
        wh = paddle.concat([size[:, 1:2], size[:, 0:1]], axis=1).unsqueeze(1)     # [B, 1, 2]
        centre = (anchors[:, 0:2] + anchors[:, 2:4]) * 0.5                         # [A, 2] normalised x, y
        return centre.unsqueeze(0) * wh                                           # [B, A, 2]

    model.extra_fields = {"centre": 2}
    model.decode_extras = decode_extras
    return model


@pytest.fixture(scope="module")
def centre_export(tmp_path_factory):
    from ppdet.core.workspace import create

    from ppdet_face.data.preprocess import normalization
    from ppdet_face.engine import load_config
    from ppdet_face.export import export_model, init_random_weights

    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"))
    model = create(cfg.architecture)
    init_random_weights(model, seed=1, face_logit_bias=-8.0, normalization=normalization(cfg, "TestReader"))
    model = _with_centre(model)
    return model, export_model(model, cfg, str(tmp_path_factory.mktemp("record")), fmt="onnx")


def _inputs(bgr):
    x = normalize(bgr)[None]
    return (paddle.to_tensor(x), paddle.to_tensor(np.array([x.shape[2:]], np.float32)),
            paddle.to_tensor(np.ones((1, 2), np.float32)))


def test_nms_rows_carry_their_own_anchors_extras(centre_export):
    model, _ = centre_export
    image, im_shape, scale = _inputs(blob_images()[0])
    with paddle.no_grad():
        boxes, scores, extras = model.detect(image, im_shape, scale, with_nms=False)
        bbox, num = model.detect(image, im_shape, scale)
    boxes, extras, bbox = boxes.numpy()[0], extras.numpy()[0], bbox.numpy()
    assert model.record == {"class": 1, "score": 1, "box": 4, "centre": 2} and bbox.shape[1] == 8 and len(bbox) > 5
    h, w = image.shape[2:]
    inside = (bbox[:, 2] > 0) & (bbox[:, 3] > 0) & (bbox[:, 4] < w) & (bbox[:, 5] < h)  # not changed by the clip
    assert inside.sum() >= 5
    for row in bbox[inside]:
        anchor = np.argmin(np.abs(boxes - row[2:6]).sum(axis=1))
        np.testing.assert_allclose(row[6:], extras[anchor], atol=1e-3)


@pytest.mark.parametrize("backend,precision", [("paddle", "f32"), ("onnxruntime", "f32"), ("openvino", "f32")])
def test_every_runtime_returns_the_extra_columns_of_dygraph(centre_export, backend, precision):
    from ppdet_face_deploy.detector import Detector

    model, save_dir = centre_export
    bgr = blob_images()[0]
    with paddle.no_grad():
        ref = model.detect(*_inputs(bgr))[0].numpy()
    det = Detector(save_dir, backend=backend, precision=precision, cpu_threads=2)
    assert det.layout.fields == model.record and det.layout.extras == ("centre",)
    (rows,) = det.predict([bgr])
    assert rows.shape == ref.shape
    order, ref_order = np.lexsort(rows[:, ::-1].T), np.lexsort(ref[:, ::-1].T)
    np.testing.assert_allclose(rows[order], ref[ref_order], atol=1e-2)


def test_json_record_and_api_name_the_extra_field(centre_export):
    from ppdet_face_deploy import FaceDetector

    _, save_dir = centre_export
    faces = FaceDetector(model=save_dir, backend="onnxruntime", threshold=0.0).detect(blob_images()[0])
    record = json.loads(faces.to_json())["detections"][0]
    assert sorted(record) == ["bbox", "centre", "class_id", "label", "score"] and len(record["centre"]) == 2
    assert faces.boxes.shape[1] == 4 and faces.landmarks is None
    assert (faces.draw() != faces.image).any()


def test_a_record_field_cannot_shadow_a_base_one():
    from ppdet_face.modeling.record import record_fields

    with pytest.raises(ValueError, match="names must differ from class, score, box"):
        record_fields({"score": 1})
