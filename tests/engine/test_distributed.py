"""Two-process data-parallel training on CPU (gloo) through paddle.distributed.launch."""
import os
import subprocess
import sys

import numpy as np
import paddle

from helpers import CONFIGS, REPO


def test_two_process_cpu_training_keeps_ranks_identical(tmp_path):
    from ppdet_face.data.synthetic import generate_wider_dataset

    data = tmp_path / "data"
    generate_wider_dataset(data, num_train=8, num_val=2, seed=2, image_size=(160, 240), progress=False)
    cmd = [sys.executable, "-m", "paddle.distributed.launch", "--nproc_per_node", "2", "--log_dir",
           str(tmp_path / "log"), str(REPO / "tools" / "train.py"),
           "-c", str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_demo.yml"), "--seed", "0",
           "--save_rank_weights", str(tmp_path / "w"),
           "-o", f"TrainDataset.dataset_dir={data}", f"EvalDataset.dataset_dir={data}", "epoch=1", "worker_num=0",
           "TrainReader.batch_size=2", f"save_dir={tmp_path / 'out'}", "log_iter=1"]
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}  # "" crashes the launcher
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    logs = "".join((tmp_path / "log" / f"workerlog.{r}").read_text() for r in (0, 1)
                   if (tmp_path / "log" / f"workerlog.{r}").exists())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:] + logs[-3000:]
    # 8 images / 2 ranks / batch 2 = 2 iterations per rank
    assert "Epoch: [0] [1/2]" in logs
    w0 = paddle.load(str(tmp_path / "w" / "rank0.pdparams"))
    w1 = paddle.load(str(tmp_path / "w" / "rank1.pdparams"))
    assert set(w0) == set(w1)
    trainable = [k for k in w0 if not k.endswith(("_mean", "_variance"))]
    for k in trainable:
        np.testing.assert_array_equal(w0[k].numpy(), w1[k].numpy(), err_msg=k)
