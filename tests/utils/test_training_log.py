"""ppdet_face.utils.training_log and tools/plot_training.py on a small hand-written log."""
import math
import subprocess
import sys

import numpy as np
import pytest

from helpers import REPO
from ppdet_face.utils.training_log import TrainingLogError, parse_training_log, plot_training_curves, summary

LOG = """\
W1129 04:42:30 some paddle warning
[11/29 04:42:39] ppdet_face.engine.trainer INFO: WIDER AP  easy 0.9000  medium 0.9000  hard 0.9000
[11/29 04:42:41] ppdet.engine INFO: Epoch: [0] [  0/3] learning_rate: 0.000200 loss: 10.0 loss_loc: 6.0 loss_conf: 4.0 num_pos: 257.000000 eta: 3:23:21
[11/29 04:42:59] ppdet.engine INFO: Epoch: [0] [  2/3] learning_rate: 0.000320 loss: 8.0 loss_loc: 5.0 loss_conf: 3.0 num_pos: 348.000000 eta: 1:25:40
[11/29 04:43:16] ppdet.engine INFO: Epoch: [1] [  0/3] learning_rate: 0.000440 loss: 6.0 loss_loc: 4.0 loss_conf: 2.0 num_pos: 302.500000
[11/29 04:43:20] ppdet.engine INFO: Epoch: [1] [  2/3] learning_rate: 0.000440 loss: nan loss_loc: nan loss_conf: nan num_pos: 302.500000
[11/29 04:43:30] ppdet.utils.checkpoint INFO: Save checkpoint: output/x
[11/29 04:44:00] ppdet_face.engine.trainer INFO: WIDER AP  easy 0.1234  medium 0.1000  hard 0.0500
[11/29 04:44:00] ppdet.engine INFO: Best test bbox ap is 0.050.
[11/29 04:44:02] ppdet.engine INFO: Epoch: [2] [  0/3] learning_rate: 0.002000 loss: 4.0 loss_loc: 3.0 loss_conf: 1.0
[11/29 04:44:30] ppdet_face.evaluation.metric INFO: WIDER AP  easy 0.2500  medium 0.2000  hard 0.1000
"""


def test_parse_means_per_epoch_and_evals_at_the_last_training_epoch():
    log = parse_training_log(LOG.splitlines())
    assert log.train_lines == 5 and log.ignored_evals == 1  # the AP line before any training line
    assert log.epochs.tolist() == [0, 1, 2]
    assert list(log.losses) == ["loss", "loss_conf", "loss_loc"]
    np.testing.assert_allclose(log.losses["loss"], [9.0, 6.0, 4.0])  # epoch 1: the nan line is left out
    np.testing.assert_allclose(log.losses["loss_loc"], [5.5, 4.0, 3.0])
    assert log.eval_epochs.tolist() == [1, 2]
    np.testing.assert_allclose(log.ap["easy"], [0.1234, 0.25])
    np.testing.assert_allclose(log.ap["hard"], [0.05, 0.1])
    assert "best hard 0.1000 (epoch 2)" in summary(log)


def test_all_nan_epoch_gives_nan_and_no_eval_is_fine(tmp_path):
    lines = ["ppdet.engine INFO: Epoch: [3] [  0/9] learning_rate: 0.1 loss: nan loss_loc: 1.0 loss_conf: nan"]
    log = parse_training_log(lines)
    assert math.isnan(log.losses["loss"][0]) and log.losses["loss_loc"][0] == 1.0
    assert len(log.eval_epochs) == 0 and "no evaluation yet" in summary(log)
    assert plot_training_curves(log, tmp_path / "curves.png").stat().st_size > 5_000


def test_log_without_training_lines_is_an_error():
    with pytest.raises(TrainingLogError, match="no training lines"):
        parse_training_log(["ppdet_face.engine.trainer INFO: WIDER AP  easy 0.1  medium 0.1  hard 0.1"], "x.log")


def test_tool_writes_png_and_fails_with_one_error_line(tmp_path):
    log = tmp_path / "train.log"
    log.write_text(LOG, encoding="utf-8")
    tool = [sys.executable, str(REPO / "tools" / "plot_training.py")]
    out = subprocess.run(tool + ["--log", str(log), "--out", str(tmp_path / "c.png")], capture_output=True,
                         text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "c.png").stat().st_size > 10_000
    assert "2 evaluations" in out.stdout
    empty = tmp_path / "empty.log"
    empty.write_text("nothing here\n", encoding="utf-8")
    bad = subprocess.run(tool + ["--log", str(empty), "--out", str(tmp_path / "d.png")], capture_output=True,
                         text=True, cwd=REPO)
    assert bad.returncode == 1 and not (tmp_path / "d.png").exists()
    want = f"error: {empty}: no training lines ('Epoch: [E] [I/N] ... loss: X') found"
    assert bad.stderr.strip().splitlines()[-1] == want
    missing = subprocess.run(tool + ["--log", str(tmp_path / "nope.log")], capture_output=True, text=True, cwd=REPO)
    assert missing.returncode == 1 and missing.stderr.strip().splitlines()[-1].startswith("error: cannot read ")
