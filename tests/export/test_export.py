"""tools/export_model.py + ppdet_face.export: the exported Paddle program (oneDNN on and
off) and the ONNX model give the dygraph model's detections, on synthetic and real images."""
import glob
import json
import os

import cv2
import numpy as np
import paddle
import pytest
import yaml
from ppdet.core.workspace import create

from helpers import CONFIGS, load_tool, normalize
from ppdet_face.data.preprocess import normalization
from ppdet_face.engine import load_config
from ppdet_face.export import UNSAFE_PADDLE_OPS, InferenceDetector, export_model, init_random_weights, program_ops

CONFIG = CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"


def build_model(seed=0, bias=-9.0, **post):
    cfg = load_config(str(CONFIG))
    model = create(cfg.architecture)
    init_random_weights(model, seed=seed, face_logit_bias=bias, normalization=normalization(cfg, "TestReader"))
    for key, value in post.items():
        setattr(model.post_process, key, value)
    return cfg, model


def synthetic_images(seed=0, sizes=((240, 320), (301, 215), (160, 160))):
    """Smooth colour backgrounds with face-like ellipses (deterministic)."""
    rng = np.random.RandomState(seed)
    out = []
    for h, w in sizes:
        img = cv2.resize((rng.rand(max(2, h // 20), max(2, w // 20), 3) * 255).astype(np.uint8), (w, h),
                         interpolation=cv2.INTER_CUBIC)
        for _ in range(6):
            r = int(rng.randint(8, max(9, min(h, w) // 4)))
            center = (int(rng.randint(r, w - r)), int(rng.randint(r, h - r)))
            color = tuple(int(c) for c in rng.randint(80, 230, 3))
            cv2.ellipse(img, center, (r, int(r * 1.3)), 0, 0, 360, color, -1)
            cv2.circle(img, (center[0] - r // 3, center[1] - r // 4), max(1, r // 6), (30, 30, 30), -1)
            cv2.circle(img, (center[0] + r // 3, center[1] - r // 4), max(1, r // 6), (30, 30, 30), -1)
        out.append(img)
    return out


def real_images(shared):
    data = shared / "data"
    files = sorted(glob.glob(str(data / "wider_face_val_subset" / "WIDER_val" / "images" / "*" / "*.jpg")))
    files += sorted(glob.glob(str(data / "dlib_faces" / "*.jpg")))
    if not files:
        pytest.skip(f"no images under {data}")
    return files


def dygraph(model, image, im_shape=None, scale_factor=None):
    """Reference detections of the dygraph model for a CHW (or NCHW) normalised image."""
    x = image if image.ndim == 4 else image[None]
    im_shape = np.array([x.shape[2:]] * x.shape[0], np.float32) if im_shape is None else im_shape
    scale_factor = np.ones((x.shape[0], 2), np.float32) if scale_factor is None else scale_factor
    with paddle.no_grad():
        out = model({"image": paddle.to_tensor(x), "im_shape": paddle.to_tensor(im_shape),
                     "scale_factor": paddle.to_tensor(scale_factor)})
    return out["bbox"].numpy(), out["bbox_num"].numpy()


def assert_same_detections(ref, out, size, score_threshold=0.01, keep_top_k=750, what=""):
    """Every detection matches one-to-one: scores within 1e-4, coordinates within 1e-4 x image size.

    A box may be missing on one side only when its score is within 1e-4 of a cut (the NMS score
    threshold, or the lowest kept score when keep_top_k was reached): float rounding decides it.
    """
    ref, out = np.asarray(ref).reshape(-1, 6), np.asarray(out).reshape(-1, 6)
    ref = ref[(ref[:, 4] > ref[:, 2]) & (ref[:, 5] > ref[:, 3])]  # the export drops zero-area boxes
    coord_tol = 1e-4 * max(size)
    used = np.zeros(len(out), bool)
    unmatched = []
    for row in ref[np.argsort(-ref[:, 1], kind="stable")]:
        ok = (~used) & (out[:, 0] == row[0]) & (np.abs(out[:, 1] - row[1]) <= 1e-4) \
            & (np.abs(out[:, 2:] - row[2:]).max(axis=1) <= coord_tol) if len(out) else np.zeros(0, bool)
        if ok.any():
            cand = np.where(ok)[0]
            used[cand[np.argmin(np.abs(out[cand, 2:] - row[2:]).max(axis=1))]] = True
        else:
            unmatched.append(row)
    unmatched += list(out[~used])

    def borderline(row):
        cut = min(ref[:, 1].min() if len(ref) else 1, out[:, 1].min() if len(out) else 1)
        at_top_k = max(len(ref), len(out)) >= keep_top_k
        return row[1] <= score_threshold + 1e-4 or (at_top_k and row[1] <= cut + 1e-4)

    bad = [r for r in unmatched if not borderline(r)]
    assert not bad, (f"{what}: {len(bad)} of {len(ref)} detections differ beyond tolerance, e.g. {bad[:3]} "
                     f"(ref {len(ref)} boxes, got {len(out)})")
    assert len(ref) == 0 or len(unmatched) <= max(2, len(ref) // 100), f"{what}: {len(unmatched)} borderline misses"


class Runtimes:
    """Paddle Inference (oneDNN on / off) and ONNX Runtime sessions on one export."""

    def __init__(self, save_dir):
        import onnxruntime as ort
        from paddle.inference import Config, create_predictor

        self.predictors = {}
        for mkldnn in (False, True):
            config = Config(os.path.join(save_dir, "model.json"), os.path.join(save_dir, "model.pdiparams"))
            config.disable_gpu()
            config.set_cpu_math_library_num_threads(2)
            config.enable_mkldnn() if mkldnn else config.disable_mkldnn()
            config.disable_glog_info()
            self.predictors["paddle+onednn" if mkldnn else "paddle"] = create_predictor(config)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.log_severity_level = 3
        self.session = ort.InferenceSession(os.path.join(save_dir, "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])

    def run_all(self, feed):
        outs = {}
        for name, pred in self.predictors.items():
            for key in pred.get_input_names():
                handle = pred.get_input_handle(key)
                handle.reshape(feed[key].shape)
                handle.copy_from_cpu(feed[key])
            pred.run()
            bbox, num = (pred.get_output_handle(n).copy_to_cpu() for n in pred.get_output_names())
            outs[name] = (bbox, num)
        outs["onnxruntime"] = tuple(self.session.run(None, feed))
        return outs


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cfg, model = build_model()
    save_dir = export_model(model, cfg, str(tmp_path_factory.mktemp("export")), fmt="onnx")
    return model, save_dir, Runtimes(save_dir)


def check_all(model, runtimes, images, keep_top_k=750, score_threshold=0.01):
    """Batch-1 detections of every runtime equal the dygraph model's; returns #boxes compared."""
    total = 0
    for name, chw in images:
        ref, ref_num = dygraph(model, chw)
        feed = {"image": chw[None], "im_shape": np.array([chw.shape[1:]], np.float32),
                "scale_factor": np.ones((1, 2), np.float32)}
        for runtime, (bbox, num) in runtimes.run_all(feed).items():
            assert int(np.asarray(num).sum()) == len(bbox[:int(np.asarray(num).sum())])
            got = bbox[:int(num[0])] if len(bbox) else bbox
            assert_same_detections(ref[:int(ref_num[0])], got, chw.shape[1:], score_threshold, keep_top_k,
                                   f"{runtime} on {name}")
        total += int(ref_num[0])
    return total


def test_export_writes_the_deploy_folder(exported):
    model, save_dir, _ = exported
    files = set(os.listdir(save_dir))
    assert {"model.json", "model.pdiparams", "infer_cfg.yml", "model.onnx"} <= files
    with open(os.path.join(save_dir, "infer_cfg.yml")) as f:
        text = f.read()
    assert "mean/std in RGB order" in text
    cfg = yaml.safe_load(text)
    assert cfg["label_list"] == ["face"] and cfg["arch"] == "Face" and cfg["use_dynamic_shape"] is True
    assert cfg["input_shape"] == [-1, 3, -1, -1] and cfg["channel_order"] == "RGB"
    assert cfg["Preprocess"] == [{"type": "NormalizeImage", "mean": [123.0, 117.0, 104.0],
                                  "std": [127.502231] * 3, "is_scale": False, "norm_type": "mean_std"},
                                 {"type": "Permute"}]
    assert cfg["NMS"] == {"score_threshold": 0.01, "nms_threshold": 0.3, "nms_top_k": 5000, "keep_top_k": 750}


def test_exported_program_avoids_ops_that_break_onednn_and_paddle2onnx(exported):
    _, save_dir, _ = exported
    ops = program_ops(save_dir)
    assert "multiclass_nms3" in ops and "conv2d" in ops
    assert not set(ops) & set(UNSAFE_PADDLE_OPS), sorted(set(ops) & set(UNSAFE_PADDLE_OPS))


def test_onnx_has_real_leaky_relu_alpha_and_our_nms(exported):
    import onnx

    _, save_dir, _ = exported
    graph = onnx.load(os.path.join(save_dir, "model.onnx")).graph
    alphas = [a.f for n in graph.node if n.op_type == "LeakyRelu" for a in n.attribute if a.name == "alpha"]
    assert len(alphas) == 7 and np.allclose(alphas, 0.01)  # FPN 3 + 2 per SSH
    assert [o.name for o in graph.output] == ["bbox", "bbox_num"]
    assert [i.name for i in graph.input] == ["im_shape", "image", "scale_factor"] or \
        sorted(i.name for i in graph.input) == ["im_shape", "image", "scale_factor"]
    assert sum(n.op_type == "NonMaxSuppression" for n in graph.node) == 1


def test_runtimes_match_dygraph_on_synthetic_images(exported):
    model, _, runtimes = exported
    images = [(f"synthetic{i}", normalize(im)) for i, im in enumerate(synthetic_images())]
    assert check_all(model, runtimes, images) > 20


def test_runtimes_match_dygraph_on_real_images(exported, shared):
    model, _, runtimes = exported
    images = [(os.path.basename(f), normalize(cv2.imread(f))) for f in real_images(shared)]
    total = check_all(model, runtimes, images)
    assert total > 1000, f"only {total} boxes compared: the random-weight score distribution is too low"


def test_a_deployment_score_threshold_exports_exactly_the_boxes_above_it(shared, tmp_path):
    """NMS visits boxes by score, so one below a threshold never suppresses one above it: the export with
    ``score_threshold: 0.5`` returns exactly the rows of the 0.01 export that score above 0.5, on every runtime
    (benchmarks/deploy_speed.py exports ours so, as the peers run at their deployment thresholds)."""
    cfg, model = build_model()
    low = Runtimes(export_model(model, cfg, str(tmp_path / "low"), fmt="onnx"))
    model.post_process.score_threshold = 0.5
    high = Runtimes(export_model(model, cfg, str(tmp_path / "high"), fmt="onnx"))
    compared = 0
    for path in real_images(shared)[:3]:
        chw = normalize(cv2.imread(path))
        feed = {"image": chw[None], "im_shape": np.array([chw.shape[1:]], np.float32),
                "scale_factor": np.ones((1, 2), np.float32)}
        high_out = high.run_all(feed)
        for runtime, (bbox, num) in low.run_all(feed).items():
            ref = bbox[:int(num[0])]
            ref = ref[ref[:, 1] > 0.5]
            got, got_num = high_out[runtime]
            np.testing.assert_array_equal(got[:int(got_num[0])], ref, err_msg=f"{runtime} on {path}")
            compared += len(ref)
    assert compared > 100


def test_inference_detector_equals_model_and_clips_padded_images_to_their_size():
    _, model = build_model()
    a, b = (normalize(im) for im in synthetic_images(sizes=((200, 150), (256, 320))))
    ref, _ = dygraph(model, a)
    layer = InferenceDetector(model)
    with paddle.no_grad():
        bbox, num = layer({"image": paddle.to_tensor(a[None]), "im_shape": paddle.to_tensor([[200.0, 150.0]]),
                           "scale_factor": paddle.ones([1, 2])})
    assert_same_detections(ref, bbox.numpy(), (200, 150), what="wrapper vs model")
    batch = np.zeros((2, 3, 256, 320), np.float32)
    batch[0, :, :200, :150] = a
    batch[1] = b
    with paddle.no_grad():
        bbox, num = layer({"image": paddle.to_tensor(batch), "im_shape": paddle.to_tensor([[200.0, 150.0],
                                                                                          [256.0, 320.0]]),
                           "scale_factor": paddle.to_tensor([[1.0, 1.0], [1.0, 1.0]])})
    bbox, num = bbox.numpy(), num.numpy()
    first = bbox[:num[0]]
    assert len(first) and first[:, [2, 4]].max() <= 150 and first[:, [3, 5]].max() <= 200
    assert bbox[num[0]:][:, [2, 4]].max() > 150  # the big image is not clipped to the small one


def test_onnx_nms_matches_paddle_with_small_top_k_and_batches(tmp_path):
    """Paddle's nms_top_k is a pre-NMS cap and keep_top_k a post-NMS cap, per image, for any batch."""
    cfg, model = build_model(bias=-7.0, nms_top_k=60, keep_top_k=25)
    save_dir = export_model(model, cfg, str(tmp_path), fmt="onnx")
    runtimes = Runtimes(save_dir)
    images = [normalize(im) for im in synthetic_images(seed=3, sizes=((192, 256), (192, 256), (192, 256)))]
    batch = np.stack(images)
    feed = {"image": batch, "im_shape": np.array([[192.0, 256.0]] * 3, np.float32),
            "scale_factor": np.array([[1.0, 1.0], [0.5, 2.0], [1.0, 1.0]], np.float32)}
    ref, ref_num = dygraph(model, batch, feed["im_shape"], feed["scale_factor"])
    assert max(ref_num) == 25 and min(ref_num) >= 10, ref_num  # keep_top_k reached, candidates capped at 60
    for runtime, (bbox, num) in runtimes.run_all(feed).items():
        assert list(num) == list(ref_num), runtime
        starts = np.concatenate([[0], np.cumsum(num)])
        for i in range(3):
            assert_same_detections(ref[starts[i]:starts[i + 1]], bbox[starts[i]:starts[i + 1]], (384, 512),
                                   keep_top_k=25, what=f"{runtime} image {i}")


def test_fixed_shape_export(tmp_path):
    cfg, model = build_model()
    save_dir = export_model(model, cfg, str(tmp_path), fmt="paddle", fixed_shape=320)
    with open(os.path.join(save_dir, "infer_cfg.yml")) as f:
        infer_cfg = yaml.safe_load(f)
    assert infer_cfg["use_dynamic_shape"] is False and infer_cfg["input_shape"] == [-1, 3, 320, 320]
    assert infer_cfg["Preprocess"][0] == {"type": "Resize", "target_size": [320, 320], "keep_ratio": False,
                                          "interp": 1}
    with open(os.path.join(save_dir, "model.json")) as f:
        program = json.load(f)
    assert "320" in json.dumps(program)[:200000]


def test_tool_requires_weights_with_a_one_line_error(tmp_path, capsys):
    tool = load_tool("export_model")
    with pytest.raises(SystemExit) as exc:
        tool.main(["-c", str(CONFIG), "-o", f"weights={tmp_path}/nope", "--output_dir", str(tmp_path)])
    message = str(exc.value.code)
    assert message.startswith("error: weights not found") and "nope.pdparams" in message and "\n" not in message


def test_tool_exports_trained_weights_and_random_weights(tmp_path):
    tool = load_tool("export_model")
    _, model = build_model(seed=5)
    weights = tmp_path / "model_final.pdparams"
    paddle.save(model.state_dict(), str(weights))
    tool.main(["-c", str(CONFIG), "-o", f"weights={tmp_path}/model_final", "--output_dir", str(tmp_path / "a")])
    save_dir = tmp_path / "a" / "blazeface_fpn_ssh_1000e"
    assert (save_dir / "model.pdiparams").is_file()
    assert yaml.safe_load((save_dir / "infer_cfg.yml").read_text())["random_weights"] is False
    state = paddle.load(str(weights))
    loaded = paddle.jit.load(str(save_dir / "model"))
    assert any(np.allclose(v.numpy(), state["blaze_head.scores0.bias"].numpy()) for v in loaded.parameters()
               if list(v.shape) == list(state["blaze_head.scores0.bias"].shape))
    tool.main(["-c", str(CONFIG), "-o", "weights=", "--allow_random_weights", "--output_dir", str(tmp_path / "b")])
    assert yaml.safe_load((tmp_path / "b" / "blazeface_fpn_ssh_1000e" / "infer_cfg.yml").read_text())[
        "random_weights"] is True


# ---------------------------------------------------------------------------------------------
# Deployment-speed rewrites of the exported graph: each equals what it replaces.
# ---------------------------------------------------------------------------------------------
def _feed(batch, shapes, scales):
    return {"image": paddle.to_tensor(batch), "im_shape": paddle.to_tensor(np.array(shapes, np.float32)),
            "scale_factor": paddle.to_tensor(np.array(scales, np.float32))}


@pytest.mark.parametrize("fixed", [None, 320])
def test_export_decode_equals_the_model_decode_before_nms(fixed):
    """The exported graph decodes with the detector's own decode: with anchors computed at run time or
    stored as constants (fixed shape) the boxes and scores are the model's; with ``clip: before_nms``
    a padded batch with per-image scale factors is clipped per image and zero-area boxes get score 0."""
    _, model = build_model(clip="before_nms")
    a, b = (normalize(im) for im in synthetic_images(sizes=((200, 150), (320, 320))))
    batch = np.zeros((2, 3, 320, 320), np.float32)
    batch[0, :, :200, :150] = a
    batch[1] = b
    feed = _feed(batch, [[200.0, 150.0], [320.0, 320.0]], [[0.5, 2.0], [1.0, 1.0]])
    exported = InferenceDetector(model, with_nms=False, fixed_shape=fixed)
    with paddle.no_grad():
        fb, fs = (t.numpy() for t in exported(feed))
        sb, ss = (t.numpy() for t in model.detect(feed["image"], feed["im_shape"], feed["scale_factor"],
                                                   with_nms=False))
    assert fb.shape == sb.shape and fs.shape == ss.shape == (2, 1, fb.shape[1])
    assert np.abs(fb - sb).max() <= 1e-4 * 640, np.abs(fb - sb).max()  # original pixels (scale 0.5 -> up to 640)
    assert np.abs(fs - ss).max() <= 1e-6
    assert (fs == 0).sum() == (ss == 0).sum() > 0  # the same zero-area (padding) boxes are dropped
    # image 0: im_shape / scale_factor = 400 x 75 px (H x W): clipped to its own size, not the padded batch's
    assert fb[0, :, [0, 2]].max() <= 75 + 1e-3 and fb[0, :, [1, 3]].max() <= 400 + 1e-3
    if fixed:
        image = feed["image"][:1]
        with paddle.no_grad():
            runtime = model.anchors(model.raw_outputs(image)[2], image)
        assert np.array_equal(exported.anchors.numpy(), runtime.numpy())


def test_onednn_forms_of_leaky_relu_and_nearest_upsampling_are_exact():
    import paddle.nn.functional as F

    from ppdet_face.export.ops import _leaky_relu_as_maximum, _leaky_relu_as_relus, _nearest_up2

    rng = np.random.RandomState(0)
    x = paddle.to_tensor((rng.randn(2, 5, 7, 9) * np.logspace(-30, 30, 9)).astype(np.float32))
    ref = F.leaky_relu(x, 0.01).numpy()
    assert np.array_equal(_leaky_relu_as_relus(x, 0.01).numpy(), ref)
    assert np.array_equal(_leaky_relu_as_maximum(x, 0.01).numpy(), ref)
    for in_hw, out_hw in (((20, 20), (40, 40)), ((21, 13), (41, 25)), ((21, 13), (42, 25))):
        y = paddle.to_tensor(rng.randn(1, 6, *in_hw).astype(np.float32))
        want = F.interpolate(y, size=list(out_hw), mode="nearest").numpy()
        assert np.array_equal(_nearest_up2(y, *out_hw).numpy(), want), (in_hw, out_hw)


def test_paddle_program_stays_in_onednn_and_onnx_keeps_portable_ops(exported, tmp_path):
    """The Paddle program uses the oneDNN forms (relu/scale/subtract leaky, transposed-conv upsampling,
    no anchor meshgrid); the probe proves our FPN upsamples to 2*in or 2*in-1 at odd and even sizes."""
    from ppdet_face.export.ops import upsampling_is_2x

    model, save_dir, _ = exported
    assert upsampling_is_2x(InferenceDetector(model))
    ops = set(program_ops(save_dir))
    assert "conv2d_transpose" in ops and not ops & {"maximum", "gather", "meshgrid", "stack_grad"}, sorted(ops)
    cfg, model = build_model()
    fixed = set(program_ops(export_model(model, cfg, str(tmp_path), fmt="paddle", fixed_shape=320)))
    assert "arange" not in fixed and "conv2d_transpose" in fixed  # anchors are parameters of a fixed-shape export


def test_no_detection_gives_empty_outputs_with_onednn(tmp_path):
    """NMS keeping nothing used to segfault Paddle Inference with oneDNN (empty tensors in the after-NMS
    clip); every runtime now returns zero rows and a zero count."""
    cfg, model = build_model(score_threshold=1.5)  # no score can pass
    runtimes = Runtimes(export_model(model, cfg, str(tmp_path), fmt="onnx"))
    image = normalize(synthetic_images(sizes=((64, 64),))[0])
    feed = {"image": image[None], "im_shape": np.array([[64.0, 64.0]], np.float32),
            "scale_factor": np.ones((1, 2), np.float32)}
    for name, (bbox, bbox_num) in runtimes.run_all(feed).items():
        assert bbox.reshape(-1, 6).shape[0] == 0 and bbox_num.tolist() == [0], name
