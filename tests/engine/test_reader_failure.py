"""A data reader that raises ends tools/train.py with one `error:` line and exit 1 (it used to hang
with `worker_num: 0` and print a bare `SystemError: Blocking queue is killed` with workers)."""
import os
import subprocess
import sys

import pytest

from helpers import CONFIGS, REPO

# Permute twice leaves HWC as CWH; NormalizeImage (a batch transform) then fails on every batch.
BROKEN_READER = """\
_BASE_: ['{base}']
TrainReader:
  sample_transforms:
    - Decode: {{}}
    - Resize: {{target_size: [64, 64], keep_ratio: False, interp: 1}}
    - NormalizeBox: {{}}
    - Permute: {{}}
    - Permute: {{}}
"""


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from ppdet_face.data.synthetic import generate_wider_dataset

    data = tmp_path_factory.mktemp("reader") / "data"
    generate_wider_dataset(data, num_train=4, num_val=1, seed=3, image_size=(96, 128), progress=False)
    return data


@pytest.mark.parametrize("workers", [0, 1])
def test_failing_reader_stops_training_with_one_error_line(tmp_path, tiny_data, workers):
    config = tmp_path / "broken.yml"
    config.write_text(BROKEN_READER.format(base=CONFIGS / "face_detection" / "blazeface_fpn_ssh_demo.yml"))
    env = dict(os.environ, PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "train.py"), "-c", str(config), "-o",
         f"TrainDataset.dataset_dir={tiny_data}", f"EvalDataset.dataset_dir={tiny_data}", "epoch=1",
         f"worker_num={workers}", "TrainReader.batch_size=2", f"save_dir={tmp_path / 'out'}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)  # a hang fails here
    assert proc.returncode == 1, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the data reader failed: ValueError: operands could not be broadcast"), last
    assert "training stopped" in last
    assert "Exception in thread" not in proc.stderr  # the reader thread does not die with its own traceback
