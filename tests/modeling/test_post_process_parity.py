"""Post-process parity with PaddleDetection: on the same raw head outputs, our decode + NMS + clip gives
what upstream's ``BBoxPostProcess`` (``SSDBox`` decode, ``MultiClassNMS``) followed by ``get_pred``'s clip
to the original image gives, box for box (upstream's placeholder box and its label -1 rows excluded)."""
import cv2
import numpy as np
import paddle
import pytest
from ppdet.core.workspace import create

from devtools.upstream import build_upstream
from helpers import CONFIGS, normalize
from ppdet_face.data.preprocess import normalization
from ppdet_face.engine import load_config
from ppdet_face.export import init_random_weights

PHOTOS = ["dlib_faces/2007_007763.jpg",
          "wider_face_val_subset/WIDER_val/images/0--Parade/0_Parade_marchingband_1_20.jpg"]


@pytest.fixture(scope="module")
def models():
    cfg = load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"))
    ours = create(cfg.architecture)
    # calibrated: thousands of candidates pass 0.01, NMS keeps up to 750
    init_random_weights(ours, seed=0, normalization=normalization(cfg, "TestReader"))
    upstream = build_upstream("fpn_ssh")
    upstream.set_state_dict(ours.state_dict())
    upstream.eval()
    return ours, upstream


def _get_pred(bbox, original_hw):
    """``BBoxPostProcess.get_pred`` for one image, operation for operation in numpy (upstream's own
    fails under Paddle 3: it concatenates 0-d tensors). SSDBox already decoded to original pixels, so
    its scale-back is the identity (scale 1) and its clip is to the original image."""
    origin_h, origin_w = np.floor(np.float32(original_hw[0]) + 0.5), np.floor(np.float32(original_hw[1]) + 0.5)
    xyxy = bbox[:, 2:] / np.float32(1.0)
    x1, x2 = (np.maximum(np.minimum(xyxy[:, i], origin_w), 0) for i in (0, 2))
    y1, y2 = (np.maximum(np.minimum(xyxy[:, i], origin_h), 0) for i in (1, 3))
    label = np.where((x2 - x1 > 0) & (y2 - y1 > 0), bbox[:, 0], -1)
    return np.stack([label, bbox[:, 1], x1, y1, x2, y2], axis=1)


def _upstream_rows(upstream, head, im_shape, scale_factor, original_hw):
    deltas, logits, anchors = head
    bbox, bbox_num, _ = upstream.post_process((deltas, logits), anchors, im_shape, scale_factor)
    pred = _get_pred(bbox.numpy().reshape(-1, 6), original_hw)
    return pred[pred[:, 0] != -1]


def _photo(shared, name, scale):
    bgr = cv2.imread(str(shared / "data" / name))
    if bgr is None:
        pytest.skip(f"{name} not found under {shared / 'data'}")
    h, w = bgr.shape[:2]
    if scale != 1:
        bgr = cv2.resize(bgr, (int(w * scale), int(h * scale)))
    return paddle.to_tensor(normalize(bgr)[None]), (float(h), float(w))


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_boxes_and_scores_equal_upstream(shared, models, name, scale):
    ours, upstream = models
    x, original_hw = _photo(shared, name, scale)
    im_shape = paddle.to_tensor([x.shape[2:]], "float32")
    scale_factor = paddle.to_tensor([[x.shape[2] / original_hw[0], x.shape[3] / original_hw[1]]], "float32")
    with paddle.no_grad():
        head = ours.head_outputs(x)
        ref = _upstream_rows(upstream, head, im_shape, scale_factor, original_hw)
        bbox, bbox_num = ours.detect(x, im_shape, scale_factor)
    got = bbox.numpy()
    assert int(bbox_num.numpy()[0]) == len(got) == len(ref) > 50
    np.testing.assert_allclose(got[:, 1], ref[:, 1], atol=1e-4, rtol=0)
    np.testing.assert_allclose(got[:, 2:], ref[:, 2:], atol=1e-4, rtol=0)
    assert got[:, 2:].min() >= 0 and got[:, [2, 4]].max() <= original_hw[1] and got[:, [3, 5]].max() <= original_hw[0]


def test_clipping_before_nms_is_an_option_and_differs(shared, models):
    """``clip: before_nms`` (the old default) is kept as an option; on this photo it does not give
    upstream's boxes, which is what the parity above guards against."""
    ours, upstream = models
    x, original_hw = _photo(shared, PHOTOS[0], 1.0)
    im_shape, scale_factor = paddle.to_tensor([x.shape[2:]], "float32"), paddle.ones([1, 2], "float32")
    ours.post_process.clip = "before_nms"
    try:
        with paddle.no_grad():
            ref = _upstream_rows(upstream, ours.head_outputs(x), im_shape, scale_factor, original_hw)
            bbox, _ = ours.detect(x, im_shape, scale_factor)
    finally:
        ours.post_process.clip = "after_nms"
    got = bbox.numpy()
    same = len(got) == len(ref) and np.abs(got[:, 1:] - ref[:, 1:]).max() <= 1e-4
    assert not same


def test_after_nms_clip_drops_boxes_left_without_area_and_counts_per_image():
    from ppdet_face.modeling import FacePostProcess

    bbox = paddle.to_tensor([[0, 0.9, -5, -5, 10, 10], [0, 0.8, 50, 2, 60, 8],   # image 0 (W 40, H 30)
                             [0, 0.7, 1, 1, 5, 5]], "float32")                    # image 1
    rows, num = FacePostProcess.clip_rows(bbox, paddle.to_tensor([2, 1], "int32"),
                                               paddle.to_tensor([[30.0, 40.0], [20.0, 20.0]]), paddle.ones([2, 2]))
    assert num.numpy().tolist() == [1, 1]
    np.testing.assert_allclose(rows.numpy(), [[0, 0.9, 0, 0, 10, 10], [0, 0.7, 1, 1, 5, 5]], rtol=1e-6)
    empty, num = FacePostProcess.clip_rows(paddle.zeros([0, 6]), paddle.to_tensor([0, 0], "int32"),
                                                paddle.ones([2, 2]), paddle.ones([2, 2]))
    assert empty.shape == [0, 6] and num.numpy().tolist() == [0, 0]


def test_clip_mode_is_validated():
    from ppdet_face.modeling import FacePostProcess

    with pytest.raises(ValueError, match="after_nms, before_nms, none"):
        FacePostProcess(clip="yes")
