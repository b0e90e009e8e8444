"""deploy/python/detector.py: the Detector batches images of any size with padding (each with its own
im_shape / scale_factor), caps dynamic-shape inputs at max_side, and maps boxes back to original pixels."""
import cv2
import numpy as np
import paddle
import pytest

from helpers import blob_images, normalize

#: The random exports' in-graph NMS IoU threshold (blazeface_fpn_ssh_1000e.yml's).
NMS_IOU_THRESHOLD = 0.3


def nms_tie_score(rows, nms_threshold=NMS_IOU_THRESHOLD, tol=1e-4):
    """The highest score at which NMS met a tie: of the pairs of ``rows`` (class, score, box) whose IoU is within
    ``tol`` of ``nms_threshold``, the largest lower score of the pair; -1 without one. Which box of such a pair
    survives depends on the last bit of the IoU, i.e. on the CPU's kernels (AVX2 vs AVX-512), and every box
    scoring below it may follow either way; the boxes scoring above it are decided before the tie."""
    from eval_tools.boxes import box_iou

    tie = -1.0
    for i, row in enumerate(rows):
        iou = box_iou(row[2:6], rows[i + 1:, 2:6])
        near = np.abs(iou - nms_threshold) < tol
        if near.any():
            tie = max(tie, float(np.minimum(row[1], rows[i + 1:, 1][near]).max()))
    return tie


def same(ref, out, size, what):
    """One-to-one match: score within 1e-4, coordinates within 1e-4 x image size. When NMS met a tie
    (:func:`nms_tie_score`, in either result), only the boxes scoring above it are compared."""
    ref, out = np.asarray(ref).reshape(-1, 6), np.asarray(out).reshape(-1, 6)
    ref = ref[(ref[:, 4] > ref[:, 2]) & (ref[:, 5] > ref[:, 3])]  # the export drops zero-area boxes
    tie = max(nms_tie_score(ref), nms_tie_score(out))
    if tie >= 0:
        ref, out = ref[ref[:, 1] > tie + 1e-4], out[out[:, 1] > tie + 1e-4]
    assert len(ref) == len(out), f"{what}: {len(ref)} vs {len(out)} boxes"
    used = np.zeros(len(out), bool)
    for row in ref:
        ok = (~used) & (np.abs(out[:, 1] - row[1]) <= 1e-4) & \
             (np.abs(out[:, 2:] - row[2:]).max(axis=1) <= 1e-4 * max(size))
        assert ok.any(), f"{what}: no match for {row}"
        used[np.where(ok)[0][0]] = True


def reference(model, batch_bgr, resize=None):
    """Dygraph InferenceDetector on a batch built by hand: zero-padded, with im_shape/scale_factor."""
    from ppdet_face.export import InferenceDetector

    chws, shapes, scales = [], [], []
    for bgr in batch_bgr:
        h, w = bgr.shape[:2]
        if resize:
            bgr = cv2.resize(bgr, (resize, resize), interpolation=cv2.INTER_LINEAR)
        chws.append(normalize(bgr))
        shapes.append(chws[-1].shape[1:])
        scales.append([chws[-1].shape[1] / h, chws[-1].shape[2] / w])
    hmax, wmax = max(s[0] for s in shapes), max(s[1] for s in shapes)
    x = np.zeros((len(chws), 3, hmax, wmax), np.float32)
    for i, c in enumerate(chws):
        x[i, :, :c.shape[1], :c.shape[2]] = c
    with paddle.no_grad():
        bbox, num = InferenceDetector(model)({"image": paddle.to_tensor(x),
                                              "im_shape": paddle.to_tensor(np.array(shapes, np.float32)),
                                              "scale_factor": paddle.to_tensor(np.array(scales, np.float32))})
    bbox, num = bbox.numpy(), num.numpy()
    starts = np.concatenate([[0], np.cumsum(num)])
    return [bbox[starts[i]:starts[i + 1]] for i in range(len(chws))]


@pytest.mark.parametrize("backend,mkldnn", [("paddle", False), ("paddle", True), ("onnxruntime", False)])
def test_batches_of_different_sizes_are_padded_with_correct_im_shape(dynamic_export, backend, mkldnn):
    from ppdet_face_deploy.detector import Detector

    model, save_dir = dynamic_export
    det = Detector(save_dir, backend=backend, enable_mkldnn=mkldnn, cpu_threads=2, batch_size=4)
    batch = blob_images()
    got = det.predict(batch)
    expected = reference(model, batch)
    assert len(got) == 4 and sum(len(g) for g in got) > 20
    for i, (bgr, g, e) in enumerate(zip(batch, got, expected)):
        h, w = bgr.shape[:2]
        assert g.shape[1] == 6 and (g[:, [2, 4]] <= w + 1e-3).all() and (g[:, [3, 5]] <= h + 1e-3).all()
        same(e, g, (h, w), f"{backend} mkldnn={mkldnn} image {i} ({h}x{w}) in a padded batch")
    # A batch of one needs no padding: equals the plain dygraph model.
    single = det.predict([batch[1]])[0]
    with paddle.no_grad():
        out = model({"image": paddle.to_tensor(normalize(batch[1])[None]),
                     "im_shape": paddle.to_tensor([[311.0, 187.0]]), "scale_factor": paddle.ones([1, 2])})
    same(out["bbox"].numpy(), single, (311, 187), f"{backend} single image")


def test_images_above_max_side_are_scaled_down_and_boxes_map_back(dynamic_export, tmp_path, capsys):
    from ppdet_face_deploy.detector import Detector
    from ppdet_face_deploy.infer import main

    model, save_dir = dynamic_export
    big = blob_images(seed=3, sizes=((300, 480),))[0]
    det = Detector(save_dir, enable_mkldnn=True, cpu_threads=2, max_side=240)
    got = det.predict([big])[0]
    assert det.pipeline.downscaled == 1
    small = cv2.resize(big, (240, 150), interpolation=cv2.INTER_AREA)  # what the cap feeds the network
    with paddle.no_grad():
        out = model({"image": paddle.to_tensor(normalize(small)[None]), "im_shape": paddle.to_tensor([[150.0, 240.0]]),
                     "scale_factor": paddle.to_tensor([[0.5, 0.5]])})
    same(out["bbox"].numpy(), got, (300, 480), "image scaled down by max_side")
    assert len(got) > 3 and (got[:, [2, 4]] <= 480 + 1e-3).all() and got[:, 4].max() > 240  # original pixels
    # No cap (0), and images within the cap: untouched.
    assert Detector(save_dir, max_side=0).pipeline.max_side == 0
    det.predict([blob_images(seed=3, sizes=((200, 240),))[0]])
    assert det.pipeline.downscaled == 1
    # The CLI says how many images it scaled down.
    cv2.imwrite(str(tmp_path / "big.jpg"), big)
    code = main(["--model_dir", save_dir, "--image_file", str(tmp_path / "big.jpg"), "--max_side", "240",
                 "--save_images", "False", "--output_dir", str(tmp_path / "out")])
    assert code == 0
    assert "1 image(s) larger than --max_side 240 px were scaled down" in capsys.readouterr().out
    assert main(["--model_dir", save_dir, "--image_file", str(tmp_path / "big.jpg"), "--max_side", "-1"]) == 2
    assert "max_side must be >= 0" in capsys.readouterr().err


def test_fixed_shape_exports_ignore_max_side(fixed_export):
    from ppdet_face_deploy.detector import Detector

    assert Detector(fixed_export[1], max_side=100).pipeline.max_side == 0  # their Resize sets the size


@pytest.mark.parametrize("backend", ["paddle", "onnxruntime"])
def test_fixed_shape_model_maps_boxes_back_to_each_original_image(fixed_export, backend):
    from ppdet_face_deploy.detector import Detector

    model, save_dir = fixed_export
    det = Detector(save_dir, backend=backend, enable_mkldnn=True, cpu_threads=2)
    batch = blob_images(seed=2)
    got = det.predict(batch)
    expected = reference(model, batch, resize=320)
    for i, (bgr, g, e) in enumerate(zip(batch, got, expected)):
        same(e, g, bgr.shape[:2], f"{backend} fixed-shape image {i}")
        alone = det.predict([bgr])[0]
        same(alone, g, bgr.shape[:2], f"{backend} fixed-shape image {i}: batch vs alone")
    assert sum(len(g) for g in got) > 10


def test_drawing_threshold_defaults_to_infer_cfg_draw_threshold(dynamic_export, tmp_path):
    import shutil

    import yaml

    from ppdet_face.export.infer_cfg import DRAW_THRESHOLD
    from ppdet_face_deploy.detector import DEFAULT_DRAW_THRESHOLD
    from ppdet_face_deploy.infer import Detector

    assert DEFAULT_DRAW_THRESHOLD == DRAW_THRESHOLD  # deploy's fallback is what export writes (deploy cannot import it)
    _, save_dir = dynamic_export
    model_dir = tmp_path / "model"
    shutil.copytree(save_dir, model_dir)
    assert Detector(str(model_dir)).threshold == yaml.safe_load((model_dir / "infer_cfg.yml").read_text())[
        "draw_threshold"] == 0.5
    cfg = yaml.safe_load((model_dir / "infer_cfg.yml").read_text())
    cfg["draw_threshold"] = 0.7
    (model_dir / "infer_cfg.yml").write_text(yaml.safe_dump(cfg))
    assert Detector(str(model_dir)).threshold == 0.7
    assert Detector(str(model_dir), threshold=0.3).threshold == 0.3
