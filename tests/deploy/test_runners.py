"""deploy/python/runners.py: the backends, their registry, and one clear message for each option or model
file they cannot use; oneDNN on and off."""
import os
import subprocess
import sys

import cv2
import paddle
import pytest

from helpers import REPO, blob_images

INFER = REPO / "deploy" / "python" / "infer.py"


@pytest.mark.parametrize("args,message", [
    (["--run_mode", "trt_fp16"], "--run_mode trt_fp16 runs TensorRT, which needs --device GPU"),
    (["--device", "GPU", "--run_mode", "trt_fp32"], "no CUDA support"),
    (["--device", "GPU"], "no CUDA support"),
    (["--device", "NPU"], "allowed values: CPU, GPU"),
    (["--backend", "tensorrt"], "allowed values: paddle, onnxruntime"),
])
def test_unavailable_devices_and_modes_fail_with_one_clear_message(dynamic_export, tmp_path, args, message, capsys):
    from ppdet_face_deploy.infer import main

    if paddle.is_compiled_with_cuda():
        pytest.skip("this PaddlePaddle has CUDA; the CPU-only messages do not apply")
    _, save_dir = dynamic_export
    img = tmp_path / "a.jpg"
    cv2.imwrite(str(img), blob_images()[0])
    code = main(["--model_dir", save_dir, "--image_file", str(img), "--output_dir", str(tmp_path)] + args)
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.startswith("error: ") and "Traceback" not in err


def test_missing_model_folder_and_onnx_file_are_clear(tmp_path, dynamic_export, capsys):
    from ppdet_face_deploy.infer import main

    img = tmp_path / "a.jpg"
    cv2.imwrite(str(img), blob_images()[0])
    assert main(["--model_dir", str(tmp_path), "--image_file", str(img)]) == 2
    assert "infer_cfg.yml not found" in capsys.readouterr().err
    _, save_dir = dynamic_export
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("infer_cfg.yml", "model.json", "model.pdiparams"):
        (bare / name).write_bytes((open(os.path.join(save_dir, name), "rb")).read())
    assert main(["--model_dir", str(bare), "--image_file", str(img), "--backend", "onnxruntime"]) == 2
    assert "--format onnx" in capsys.readouterr().err


@pytest.mark.parametrize("mkldnn", [True, False])
def test_enable_mkldnn_runs_onednn_kernels_without_crashing(dynamic_export, tmp_path, mkldnn):
    """--enable_mkldnn True runs the convolutions on oneDNN (seen in ONEDNN_VERBOSE), False does not.
    (That it is faster is measured by benchmarks/deploy_speed.py: the 'oneDNN off' row and its verdict.)"""
    cv2.imwrite(str(tmp_path / "a.png"), blob_images(sizes=[(200, 240)])[0])
    env = dict(os.environ, ONEDNN_VERBOSE="1", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, str(INFER), "--model_dir", dynamic_export[1], "--image_file",
                           str(tmp_path / "a.png"), "--enable_mkldnn", str(mkldnn), "--cpu_threads", "2",
                           "--save_images", "False"], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    conv_execs = [line for line in proc.stdout.splitlines()
                  if line.startswith("onednn_verbose") and ",exec," in line and ",convolution," in line]
    if mkldnn:
        assert len(conv_execs) >= 40, f"{len(conv_execs)} oneDNN convolutions ran"  # the model has 55 convs
    else:
        assert conv_execs == []
    assert "a.png: " in proc.stdout and " faces (score >= 0.5)" in proc.stdout


def test_backends_are_the_runner_registry_and_anything_else_is_one_clear_error():
    import re

    from ppdet_face_deploy.preprocess import DeployError
    from ppdet_face_deploy.runners import BACKENDS, RUNNERS, DetectorOptions, Runner, check_options, create_runner

    assert BACKENDS == ("paddle", "onnxruntime", "openvino") == tuple(RUNNERS)
    assert all(issubclass(cls, Runner) for cls in RUNNERS.values())
    with pytest.raises(DeployError, match=re.escape("--backend 'tensorrt' is not supported; allowed values: "
                                                    "paddle, onnxruntime, openvino")):
        create_runner("no_model_dir", {}, DetectorOptions(backend="tensorrt"))
    with pytest.raises(DeployError, match=re.escape("--run_mode 'trt' is not supported; allowed values: paddle, "
                                                    "trt_fp32, trt_fp16, trt_int8")):
        check_options(DetectorOptions(run_mode="trt"))
    with pytest.raises(DeployError, match="--batch_size must be >= 1"):
        check_options(DetectorOptions(backend="onnxruntime", batch_size=0))
    with pytest.raises(DeployError, match=re.escape("unknown detector option 'threads'; allowed: backend, precision")):
        DetectorOptions().replace(threads=2)
    with pytest.raises(DeployError, match="--malloc_tuning 'sometimes' is not supported"):
        DetectorOptions().replace(malloc_tuning="sometimes")
