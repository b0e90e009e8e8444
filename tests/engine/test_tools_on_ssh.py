"""The command-line chain on an SSH config (SSH-MobileNetV1, the smallest): tools/train.py -> tools/eval.py single-
and multi-scale (the config's test pyramid option) -> tools/export_model.py (ONNX) -> deploy/python/infer.py
(ONNX Runtime, benchmark mode). Nothing SSH-specific in the tools: the same commands as for BlazeFace."""
import json
import subprocess
import sys

import pytest

from helpers import CONFIGS, REPO

CONFIG = str(CONFIGS / "face_detection" / "ssh_mobilenet_v1_wider.yml")


def _run(args, timeout=900):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_train_eval_export_deploy_on_ssh_mobilenet_v1(tmp_path):
    from ppdet_face.data.synthetic import generate_wider_dataset

    data = tmp_path / "data"
    generate_wider_dataset(data, num_train=4, num_val=2, seed=3, image_size=(160, 224), progress=False)
    data_opts = [f"TrainDataset.dataset_dir={data}", f"EvalDataset.dataset_dir={data}"]
    log = _run(["tools/train.py", "-c", CONFIG, "--seed", "0", "-o", *data_opts, "epoch=1", "worker_num=0",
                "TrainReader.batch_size=2", "pretrain_weights=null", f"save_dir={tmp_path / 'out'}", "log_iter=1"])
    assert "Epoch: [0] [1/2]" in log
    # the config freezes BatchNorm for ImageNet weights; without them, one warning says how to train from scratch
    assert "warning: VisionMobileNetV1.freeze_norm is on but no pretrain_weights are loaded" in log
    weights = tmp_path / "out" / "ssh_mobilenet_v1_wider" / "model_final"

    out = _run(["tools/eval.py", "-c", CONFIG, "--no_progress", "--pred_dir", str(tmp_path / "pred"),
                "--json", str(tmp_path / "ss.json"), "-o", *data_opts, f"weights={weights}"])
    assert "single-scale prediction of 2 images" in out
    out = _run(["tools/eval.py", "-c", CONFIG, "--no_progress", "--pred_dir", str(tmp_path / "pred_ms"),
                "-o", *data_opts, f"weights={weights}", "multi_scale_eval=True", "multi_scale_pyramid=[100,200]"])
    assert "multi-scale (test pyramid, shorter sides [100, 200] px) prediction of 2 images" in out
    assert len(list((tmp_path / "pred_ms").glob("*/*.txt"))) == 2
    assert set(json.loads((tmp_path / "ss.json").read_text())["ap"]) >= {"easy", "medium", "hard"}

    _run(["tools/export_model.py", "-c", CONFIG, "--format", "onnx", "--output_dir", str(tmp_path / "export"),
          "-o", f"weights={weights}"])
    model_dir = tmp_path / "export" / "ssh_mobilenet_v1_wider"
    assert (model_dir / "model.onnx").is_file() and (model_dir / "infer_cfg.yml").is_file()
    image = next((data / "WIDER_val" / "images").glob("*/*.jpg"))
    out = _run(["deploy/python/infer.py", "--model_dir", str(model_dir), "--image_file", str(image),
                "--backend", "onnxruntime", "--output_dir", str(tmp_path / "vis"), "--run_benchmark", "True"])
    assert "benchmark: onnxruntime, batch 1" in out and "end_to_end" in out and "QPS" in out
