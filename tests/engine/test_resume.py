"""kill -9 in the middle of training, then -r: training continues at the right epoch with the same LR."""
import os
import re
import signal
import subprocess
import sys
import time

from helpers import CONFIGS, REPO

LR_LINE = re.compile(r"Epoch: \[(\d+)\] \[\s*(\d+)/\d+\] learning_rate: ([0-9.e-]+)")


def _train(data, out, resume=None):
    """Start tools/train.py: 3 epochs of 3 iterations, all inside the LR warm-up (LR changes every step)."""
    cmd = [sys.executable, str(REPO / "tools" / "train.py"), "-c",
           str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_demo.yml"), "--seed", "0",
           "-o", f"TrainDataset.dataset_dir={data}", f"EvalDataset.dataset_dir={data}", "epoch=3",
           "snapshot_epoch=1", "worker_num=0", "TrainReader.batch_size=2", f"save_dir={out}", "log_iter=1"]
    if resume:
        cmd += ["-r", str(resume)]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _lr_table(text):
    return {(int(e), int(s)): float(lr) for e, s, lr in LR_LINE.findall(text)}


def test_kill_9_then_resume_continues_epoch_and_lr(tmp_path):
    from ppdet_face.data.synthetic import generate_wider_dataset

    data = tmp_path / "data"
    generate_wider_dataset(data, num_train=6, num_val=2, seed=3, image_size=(160, 200), progress=False)
    ref = _train(data, tmp_path / "ref")
    ref_log = ref.communicate(timeout=600)[0]
    assert ref.returncode == 0, ref_log[-3000:]
    reference = _lr_table(ref_log)
    assert {e for e, _ in reference} == {0, 1, 2}

    ckpt = tmp_path / "run" / "blazeface_fpn_ssh_demo"
    run = _train(data, tmp_path / "run")
    lines = []
    deadline = time.time() + 600
    for line in run.stdout:  # kill -9 as soon as epoch 1 has started (checkpoint 0 is on disk)
        lines.append(line)
        if "Epoch: [1] [ 1/" in line or "Epoch: [1] [1/" in line:
            os.kill(run.pid, signal.SIGKILL)
            break
        assert time.time() < deadline
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL
    assert (ckpt / "0.pdparams").exists() and (ckpt / "0.pdopt").exists()
    assert not (ckpt / "1.pdparams").exists()
    assert not [p for p in os.listdir(ckpt) if ".tmp-" in p]

    proc = _train(data, tmp_path / "run", resume=ckpt / "0")
    log = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, log[-3000:]
    after = _lr_table(log)
    assert min(e for e, _ in after) == 1, "resume must start at epoch 1 (checkpoint 0 = end of epoch 0)"
    for key, lr in after.items():
        assert abs(lr - reference[key]) < 1e-9, f"LR at epoch/iter {key}: {lr} vs uninterrupted {reference[key]}"
    assert (ckpt / "model_final.pdparams").exists()
