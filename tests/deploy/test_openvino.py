"""--backend openvino (deploy/python/runners.py) and tools/quantize.py: f32 equals dygraph like ONNX Runtime
(padded batches, static-shape recompilation), bf16 within its documented tolerance, int8 from the quantization
tool runs with its float tail, and the option errors are one clear line each."""
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import yaml

from eval_tools.boxes import box_iou
from helpers import REPO, blob_images, cpu_has_bf16, skip_without_bf16

pytest.importorskip("openvino", reason="openvino is not installed (pinned in requirements.txt)")
from test_detector import reference, same  # noqa: E402  (tests/deploy is on sys.path: rootdir-less test module)


def agreement(ref, got, threshold):
    """(median IoU, median |score difference|) of each reference box >= threshold with its best-IoU output box."""
    ious, dscores = [], []
    for r, g in zip(ref, got):
        for row in r[r[:, 1] >= threshold]:
            iou = box_iou(row[2:6], g[:, 2:6]) if len(g) else np.zeros(1)
            k = int(iou.argmax())
            ious.append(iou[k])
            dscores.append(abs(row[1] - g[k, 1]) if len(g) else 1.0)
    return float(np.median(ious)), float(np.median(dscores))


def _sorted_per_image(result):
    return all((np.diff(r[:, 1]) <= 0).all() for r in result)


def test_f32_equals_dygraph_in_padded_batches_and_after_static_recompilation(dynamic_export):
    from ppdet_face_deploy.detector import Detector

    model, save_dir = dynamic_export
    det = Detector(save_dir, backend="openvino", precision="f32", cpu_threads=2, batch_size=4)
    assert det.raw_pixels  # uint8 RGB in, normalised inside the model (mean-colour padding)
    batch = blob_images()
    expected = reference(model, batch)
    runs = [det.predict(batch) for _ in range(3)]  # dynamic, dynamic, then the static-shape compilation
    assert len(det.runner._static) == 1
    for got in runs:
        assert _sorted_per_image(got)
        for i, (bgr, g, e) in enumerate(zip(batch, got, expected)):
            same(e, g, bgr.shape[:2], f"openvino f32 image {i} in a padded batch")
    single = det.predict([batch[1]])[0]
    same(reference(model, [batch[1]])[0], single, batch[1].shape[:2], "openvino f32 single image")


def test_static_compilation_only_for_a_shape_that_comes_three_times_in_a_row(dynamic_export):
    """Varied sizes (a folder) stay on the dynamic model however often a size comes back between others;
    a run of the same shape (video, camera) gets its static compilation on the third call, used from then on."""
    from ppdet_face_deploy.detector import Detector

    _, save_dir = dynamic_export
    det = Detector(save_dir, backend="openvino", precision="f32", cpu_threads=2)
    a, b = blob_images(seed=4, sizes=[(96, 128), (128, 96)])
    for bgr in [a, b, a, a, b, a, b, b]:
        det.predict([bgr])
    assert len(det.runner._static) == 0
    det.predict([b])  # third b in a row
    assert len(det.runner._static) == 1
    static = next(iter(det.runner._static.values()))
    det.predict([a])
    feeds = det.preprocess([b])
    assert det.runner._compiled_for({n: tuple(feeds[n].shape) for n in det.runner.input_names}) is static


def test_fixed_shape_export_runs_on_openvino(fixed_export):
    from ppdet_face_deploy.detector import Detector

    model, save_dir = fixed_export
    det = Detector(save_dir, backend="openvino", cpu_threads=2)
    batch = blob_images(seed=2)
    for bgr, e in zip(batch, reference(model, batch, resize=320)):
        same(e, det.predict([bgr])[0], bgr.shape[:2], "openvino fixed-shape image")


def test_bf16_is_within_its_tolerance(dynamic_export):
    """Documented in deploy/README.md: boxes move, scores shift; on this seeded random model (more sensitive than
    a trained one) every box >= 0.05 is found again with median IoU 0.92 and median score change 0.03."""
    from ppdet_face_deploy.detector import Detector

    skip_without_bf16()
    model, save_dir = dynamic_export
    det = Detector(save_dir, backend="openvino", precision="bf16", cpu_threads=2)
    batch = blob_images()
    got = [det.predict([bgr])[0] for bgr in batch]
    iou, dscore = agreement([reference(model, [bgr])[0] for bgr in batch], got, 0.05)
    assert iou >= 0.85 and dscore <= 0.05, (iou, dscore)
    assert _sorted_per_image(got)


@pytest.fixture(scope="module")
def quantized_export(dynamic_export, tmp_path_factory):
    """A copy of the dynamic export quantized by tools/quantize.py on 16 generated images."""
    root = tmp_path_factory.mktemp("openvino_int8")
    save_dir = str(root / "model")
    shutil.copytree(dynamic_export[1], save_dir)
    calib = root / "calib" / "sub"
    calib.mkdir(parents=True)
    for i, bgr in enumerate(blob_images(seed=10, sizes=[(240, 320)] * 8 + [(320, 240)] * 8)):
        cv2.imwrite(str(calib / f"{i}.jpg"), bgr)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "quantize.py"), "--model_dir", save_dir,
                           "--calib_dir", str(root / "calib"), "--num_images", "12"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dynamic_export[0], save_dir, dynamic_export[1]


def test_bf16_on_a_cpu_without_it_is_one_clear_error(dynamic_export):
    from ppdet_face_deploy.detector import Detector
    from ppdet_face_deploy.preprocess import DeployError

    if cpu_has_bf16():
        pytest.skip("this CPU has bf16: the error for CPUs without it cannot be raised here")
    with pytest.raises(DeployError, match="--precision bf16: this CPU has no bf16 support .*; use --precision f32"):
        Detector(dynamic_export[1], backend="openvino", precision="bf16", cpu_threads=2)


def test_quantize_records_the_int8_model_and_keeps_infer_cfg(quantized_export):
    _, save_dir, original = quantized_export
    with open(os.path.join(original, "infer_cfg.yml"), encoding="utf-8") as f:
        before = f.read()
    with open(os.path.join(save_dir, "infer_cfg.yml"), encoding="utf-8") as f:
        after = f.read()
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    assert list(new) == list(old) + ["quantized"] and all(new[k] == old[k] for k in old)
    assert after.startswith(before.split("\n")[0])  # the contract header stays
    q = new["quantized"]
    assert q["file"] == "model_int8.xml" and q["precision"] == "int8" and "nncf" in q["method"]
    assert q["calibration"]["num_images"] == 12 and q["calibration"]["seed"] == 0
    assert os.path.isfile(os.path.join(save_dir, "model_int8.xml"))
    assert os.path.isfile(os.path.join(save_dir, "model_int8.bin"))


def test_int8_runs_with_a_float_tail(quantized_export):
    """int8 accuracy on a trained model is measured in deploy/README.md (this random model is too sensitive to
    judge it); here: the int8 model runs batches, its boxes are well-formed, clipped and sorted like f32's."""
    import openvino as ov

    from ppdet_face_deploy.detector import Detector

    _, save_dir, _ = quantized_export
    det = Detector(save_dir, backend="openvino", precision="int8", cpu_threads=2, batch_size=4)
    ops = ov.Core().read_model(det.runner.model_file).get_ordered_ops()
    assert any(op.get_type_name() == "FakeQuantize" for op in ops)
    batch = blob_images()
    got = det.predict(batch)
    assert len(got) == 4 and sum(len(g) for g in got) > 0 and _sorted_per_image(got)
    for bgr, g in zip(batch, got):
        h, w = bgr.shape[:2]
        assert g.shape[1] == 6 and (g[:, 1] >= 0.01).all() and (g[:, [2, 4]] <= w + 1e-3).all()
        assert (g[:, [3, 5]] <= h + 1e-3).all() and (g[:, 2:] >= 0).all()


def _convolutions_with_bias(model):
    """(convolutions, those whose only consumer is an Add of a constant: their bias)."""
    convs = [op for op in model.get_ordered_ops() if op.get_type_name() in ("Convolution", "GroupConvolution")]
    biased = 0
    for op in convs:
        targets = list(op.output(0).get_target_inputs())
        node = targets[0].get_node()
        biased += len(targets) == 1 and node.get_type_name() == "Add" and \
            node.input_value(1 - targets[0].get_index()).get_node().get_type_name() == "Constant"
    return len(convs), biased


def test_quantization_sees_every_batchnorm_folded_into_a_convolution_bias(dynamic_export):
    """NNCF's bias correction needs each convolution's bias: in the graph it quantizes no BatchNorm is left and
    every convolution that had one feeds a bias Add (``Core.read_model`` keeps Convolution -> BatchNormInference)."""
    import openvino as ov

    from ppdet_face.export.quantize import float_model, fold_constants

    onnx_path = os.path.join(dynamic_export[1], "model.onnx")
    raw = fold_constants(ov.Core().read_model(onnx_path))
    batchnorms = sum(op.get_type_name() == "BatchNormInference" for op in raw.get_ordered_ops())
    model = float_model(onnx_path)
    assert batchnorms > 0
    assert not [op for op in model.get_ordered_ops() if op.get_type_name().startswith("BatchNorm")]
    (convs, biased), (raw_convs, _) = _convolutions_with_bias(model), _convolutions_with_bias(raw)
    assert convs == raw_convs
    assert biased >= batchnorms  # (the converter drops an all-zero bias, as the random head's)


def test_int8_runs_every_convolution_depthwise_included_in_int8(quantized_export):
    """The depthwise weights are quantized per output channel (ranges [C, 1, 1, 1, 1]) and the CPU plugin
    compiles every convolution but the one reading the stem's output (kept float) to an int8 kernel. Without
    constant folding before NNCF the depthwise ranges were [C, 1, 1, 1, k] and those convolutions ran in float
    between conversions (slower than f32)."""
    import openvino as ov

    from ppdet_face.export.quantize import stem_readers

    _, save_dir, _ = quantized_export
    core = ov.Core()
    model = core.read_model(os.path.join(save_dir, "model_int8.xml"))
    stem = set(stem_readers(model))
    depthwise = [op for op in model.get_ordered_ops() if op.get_type_name() == "GroupConvolution"]
    assert depthwise and stem
    for op in depthwise:
        fq = op.input_value(1).get_node()
        if op.get_friendly_name() in stem:
            assert fq.get_type_name() == "Constant"  # float weights
            continue
        channels = op.get_input_shape(1)[0]
        if fq.get_type_name() == "FakeQuantize":
            ranges = [list(fq.get_input_shape(i)) for i in range(1, 5)]
            assert all(r == [channels, 1, 1, 1, 1] for r in ranges), (op.get_friendly_name(), ranges)
        else:  # NNCF's compressed weights: int8 constant -> Convert -> Multiply by a per-channel scale
            assert fq.get_type_name() in ("Multiply", "Subtract"), fq.get_type_name()
    model.reshape({"image": [1, 3, 96, 96], "im_shape": [1, 2], "scale_factor": [1, 2]})
    runtime = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": 2}).get_runtime_model()
    convs = [op.get_rt_info() for op in runtime.get_ordered_ops()
             if str(op.get_rt_info()["layerType"].value) == "Convolution"]
    assert len(convs) >= len(depthwise)
    precisions = {str(info["originalLayersNames"].value).split(",")[0]: str(info["runtimePrecision"].value)
                  for info in convs}
    float_convs = {name for name, p in precisions.items() if p not in ("u8", "i8")}
    assert float_convs == stem & set(precisions) and len(float_convs) == 1, (float_convs, stem, precisions)


@pytest.mark.parametrize("args,message", [
    (["--backend", "openvino", "--precision", "fp16"], "--precision 'fp16' is not supported; allowed values: f32, "
                                                       "bf16, int8"),
    (["--backend", "onnxruntime", "--precision", "bf16"], "--precision bf16 is for --backend openvino"),
    (["--backend", "openvino", "--precision", "int8"], "needs an int8 model recorded in infer_cfg.yml (run "
                                                       "tools/quantize.py"),
    (["--backend", "openvino", "--device", "GPU"], "--backend openvino runs on --device CPU only"),
])
def test_openvino_option_errors_are_one_clear_line(dynamic_export, tmp_path, args, message, capsys):
    from ppdet_face_deploy.infer import main

    img = tmp_path / "a.jpg"
    cv2.imwrite(str(img), blob_images()[0])
    code = main(["--model_dir", dynamic_export[1], "--image_file", str(img), "--output_dir", str(tmp_path)] + args)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.startswith("error: ") and "Traceback" not in err


def test_quantize_tool_errors(tmp_path, dynamic_export):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    tool = [sys.executable, str(REPO / "tools" / "quantize.py")]
    proc = subprocess.run(tool + ["--model_dir", str(tmp_path), "--calib_dir", str(tmp_path)], capture_output=True,
                          text=True, timeout=300, env=env)
    assert proc.returncode != 0 and "infer_cfg.yml not found" in proc.stderr
    proc = subprocess.run(tool + ["--model_dir", dynamic_export[1], "--calib_dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode != 0 and "no calibration images" in proc.stderr
