"""Real tools/train.py runs that diverge: they stop with one line naming epoch and iteration, exit
non-zero, and the checkpoint written before the divergence is intact and loadable.

The learning rate is 0.002 in epoch 0 and then jumps (PiecewiseDecay ``values``). To 1e38: the first
epoch-1 step throws the Adam-updated weights to ~1e38 and the next loss is inf. To 1e30: Adam's steps
are ~lr, so the loss grows to ~6e29 but stays finite, which only the explosion check catches.
"""
import os
import subprocess
import sys

import numpy as np

from helpers import CONFIGS, REPO

JUMP_CONFIG = """\
_BASE_: ['{base}']
LearningRate:
  base_lr: 0.002
  schedulers:
  - !PiecewiseDecay
    milestones: [1]
    values: [0.002, {lr}]
    use_warmup: false
"""


def _train_with_lr_jump(tmp_path, name, lr, num_train):
    """tools/train.py on synthetic data, batch 2, LR 0.002 in epoch 0 then ``lr``; returns (process, checkpoint dir)."""
    from ppdet_face.data.synthetic import generate_wider_dataset

    data = tmp_path / "data"
    generate_wider_dataset(data, num_train=num_train, num_val=2, seed=3, image_size=(128, 160), progress=False)
    config = tmp_path / f"{name}.yml"
    config.write_text(JUMP_CONFIG.format(base=CONFIGS / "face_detection" / "blazeface_fpn_ssh_demo.yml", lr=lr))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "train.py"), "-c", str(config), "--seed", "0", "-o",
         f"TrainDataset.dataset_dir={data}", f"EvalDataset.dataset_dir={data}", "epoch=3", "snapshot_epoch=1",
         "worker_num=0", "TrainReader.batch_size=2", f"save_dir={out}", "log_iter=1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return proc, out / name, config


def test_divergence_stops_with_epoch_and_iteration_and_keeps_the_last_checkpoint(tmp_path):
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import check_resume_checkpoint, load_weights, read_state_dict

    proc, ckpt, config = _train_with_lr_jump(tmp_path, "diverge", "1.0e+38", num_train=6)
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (f"error: loss is inf at epoch 1, iteration 1; training stopped. The last good checkpoint is in "
                    f"{ckpt} (lower the learning rate or check the data, then resume with -r)")
    assert "Epoch: [1] [0/3] learning_rate: 99999999999999997748809823456034029568" in proc.stdout  # LR 1e38 hit
    # the epoch-0 checkpoint is complete; nothing of epoch 1 was written, no temporary files are left
    assert sorted(os.listdir(ckpt)) == ["0.pdopt", "0.pdparams"]
    state = read_state_dict(ckpt / "0.pdparams")
    assert all(np.isfinite(v).all() for v in state.values())
    model = create(load_config(str(config)).architecture)
    load_weights(model, ckpt / "0")  # strict: every tensor present with its shape
    assert check_resume_checkpoint(model, ckpt / "0") == str(ckpt / "0")  # and -r would accept it


def test_finite_explosion_stops_with_epoch_and_iteration_and_keeps_the_last_checkpoint(tmp_path):
    from ppdet_face.engine.weights import read_state_dict

    proc, ckpt, _ = _train_with_lr_jump(tmp_path, "explode", "1.0e+30", num_train=40)
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: loss exploded: "), last
    # epoch 0: 20 good iterations; epoch 1, iteration 0 is still good (its step applies the 1e30 LR),
    # iterations 1-3 explode: stopped at the third.
    assert "more than 100x the median" in last and "previous 21 iterations, for 3 iterations in a row at epoch 1, " \
        "iteration 3; training stopped" in last, last
    loss = float(last.split("loss exploded: ")[1].split(",")[0])
    assert np.isfinite(loss) and loss > 1e6  # finite: the NaN check alone would have let it run on
    assert sorted(os.listdir(ckpt)) == ["0.pdopt", "0.pdparams"]
    assert all(np.isfinite(v).all() and np.abs(v).max() < 1e6 for v in read_state_dict(ckpt / "0.pdparams").values())
