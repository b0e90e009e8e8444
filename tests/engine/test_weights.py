"""The one strict weights loader (ppdet_face.engine.weights) and its use by the tools.

Missing files, wrong architectures, truncated files, pickles that would run code, safetensors,
partial loading for fine-tuning, URLs offline, resume checks.
"""
import os
import pickle
import subprocess
import sys

import numpy as np
import paddle
import pytest

from helpers import CONFIGS, REPO, load_tool
from ppdet_face.engine.weights import (
    UnsafeWeightsError,
    WeightsError,
    WeightsNotFoundError,
    check_resume_checkpoint,
    load_weights,
    read_state_dict,
    resume_checkpoint_base,
)

FPN_SSH = CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"
PLAIN = CONFIGS / "face_detection" / "blazeface_1000e.yml"


def _net(channels=4, seed=0):
    paddle.seed(seed)
    return paddle.nn.Sequential(paddle.nn.Conv2D(3, channels, 3), paddle.nn.BatchNorm2D(channels),
                                paddle.nn.Conv2D(channels, 2, 1))


def _params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def _run(*args, timeout=300):
    env = dict(os.environ, PYTHONWARNINGS="ignore", GLOG_minloglevel="2")
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


class _Payload:
    """A pickle that creates a directory when unpickled (stands for any code a file could run)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


# ------------------------------------------------------------------------------------------------
# The loader
# ------------------------------------------------------------------------------------------------
def test_pdparams_with_and_without_suffix_load_exactly(tmp_path):
    src, dst = _net(seed=1), _net(seed=2)
    paddle.save(src.state_dict(), str(tmp_path / "w.pdparams"))
    assert load_weights(dst, tmp_path / "w") == str(tmp_path / "w.pdparams")
    for k, v in _params(src).items():
        np.testing.assert_array_equal(_params(dst)[k], v)
    assert load_weights(_net(), str(tmp_path / "w.pdparams")) == str(tmp_path / "w.pdparams")


def test_missing_weights_are_one_line_naming_the_path(tmp_path):
    for path, shown in [(tmp_path / "nope", f"{tmp_path / 'nope'}.pdparams"),
                        (tmp_path / "nope.safetensors", str(tmp_path / "nope.safetensors"))]:
        with pytest.raises(WeightsNotFoundError) as err:
            load_weights(_net(), path)
        assert str(err.value).startswith(f"weights not found: {shown}") and "\n" not in str(err.value)


def test_wrong_architecture_lists_shapes_missing_and_unexpected_with_counts(tmp_path):
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config

    fpn = create(load_config(str(FPN_SSH)).architecture)
    paddle.save(fpn.state_dict(), str(tmp_path / "fpn.pdparams"))
    plain = create(load_config(str(PLAIN)).architecture)
    own, theirs = plain.state_dict(), fpn.state_dict()
    unexpected = [k for k in theirs if k not in own]
    mismatched = [k for k in own if k in theirs and list(own[k].shape) != list(theirs[k].shape)]
    assert len(unexpected) > 10 and mismatched  # the neck is extra; the head sees other channel counts
    before = _params(plain)
    with pytest.raises(WeightsError) as err:
        load_weights(plain, tmp_path / "fpn")
    text = str(err.value)
    lines = text.splitlines()
    assert lines[0].startswith(f"weights {tmp_path / 'fpn.pdparams'} do not fit BlazeFaceDetector "
                               f"({len(own)} tensors): {len(mismatched)} shape mismatches, "
                               f"{len(unexpected)} unexpected")
    k = mismatched[0]
    assert f"    {k}: expected {list(own[k].shape)}, got {list(theirs[k].shape)} in the file" in lines
    assert f"  unexpected in the file (not in the model) ({len(unexpected)}):" in lines
    assert f"    ... and {len(unexpected) - 10} more" in lines
    assert sum(line.startswith("    ") and "..." not in line for line in lines) == min(len(mismatched), 10) + 10
    assert all(np.array_equal(v, before[k]) for k, v in _params(plain).items())  # nothing half-loaded


def test_missing_keys_are_listed(tmp_path):
    small = paddle.nn.Sequential(paddle.nn.Conv2D(3, 4, 3))
    paddle.save(small.state_dict(), str(tmp_path / "small.pdparams"))
    with pytest.raises(WeightsError, match=r"6 missing \(wrong config") as err:
        load_weights(_net(), tmp_path / "small")
    assert "  missing from the file (6):\n    1.weight\n" in str(err.value)


def test_allow_partial_loads_matching_tensors_and_keeps_the_rest(tmp_path):
    src = _net(channels=4, seed=1)
    state = src.state_dict()
    state["2.weight"] = paddle.zeros([5, 4, 1, 1])  # another head
    paddle.save(state, str(tmp_path / "w.pdparams"))
    dst = _net(channels=4, seed=2)
    head_before = dst.state_dict()["2.weight"].numpy().copy()
    with pytest.raises(WeightsError, match="2.weight: expected \\[2, 4, 1, 1\\], got \\[5, 4, 1, 1\\]"):
        load_weights(dst, tmp_path / "w")
    load_weights(dst, tmp_path / "w", allow_partial=True)
    np.testing.assert_array_equal(dst.state_dict()["0.weight"].numpy(), src.state_dict()["0.weight"].numpy())
    np.testing.assert_array_equal(dst.state_dict()["2.weight"].numpy(), head_before)
    other = paddle.nn.Sequential(paddle.nn.Linear(2, 2))
    with pytest.raises(WeightsError, match="none of the model's tensors can be loaded"):
        load_weights(other, tmp_path / "w", allow_partial=True)


def test_truncated_and_non_weight_files_are_clear_errors(tmp_path):
    paddle.save(_net().state_dict(), str(tmp_path / "w.pdparams"))
    data = (tmp_path / "w.pdparams").read_bytes()
    (tmp_path / "cut.pdparams").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="not a readable .pdparams pickle .*truncated"):
        load_weights(_net(), tmp_path / "cut.pdparams")
    (tmp_path / "empty.pdparams").write_bytes(b"")
    with pytest.raises(WeightsError, match="empty file"):
        load_weights(_net(), tmp_path / "empty.pdparams")
    with open(tmp_path / "opt.pdparams", "wb") as f:
        pickle.dump({"moment1": np.zeros(3, np.float32), "last_epoch": 3}, f)
    with pytest.raises(WeightsError, match="'last_epoch' is a int, not a tensor"):
        load_weights(_net(), tmp_path / "opt.pdparams")


# ------------------------------------------------------------------------------------------------
# Pickle risk and the safe path
# ------------------------------------------------------------------------------------------------
def test_paddle_load_runs_code_from_a_pdparams_file(tmp_path):
    """The risk docs/reliability.md describes: plain paddle.load executes what the pickle asks for.
    (Should this ever fail, paddle.load has become safe: update docs/reliability.md.)"""
    with open(tmp_path / "evil.pdparams", "wb") as f:
        pickle.dump({"0.weight": _Payload(tmp_path / "ran")}, f)
    paddle.load(str(tmp_path / "evil.pdparams"))
    assert (tmp_path / "ran").is_dir()


def test_our_loader_refuses_such_a_pickle_without_running_it(tmp_path):
    with open(tmp_path / "evil.pdparams", "wb") as f:
        pickle.dump({"0.weight": _Payload(tmp_path / "ran")}, f)
    with pytest.raises(UnsafeWeightsError, match=r"references the Python object posix\.mkdir") as err:
        load_weights(_net(), tmp_path / "evil")
    assert "\n" not in str(err.value)
    with pytest.raises(SystemExit, match="error: .*refused to unpickle"):
        load_tool("convert_weights").main([str(tmp_path / "evil.pdparams"), str(tmp_path / "out.safetensors")])
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out.safetensors").exists()


def test_convert_to_safetensors_then_load_without_pickle(tmp_path, monkeypatch, capsys):
    src = _net(seed=3)
    paddle.save(src.state_dict(), str(tmp_path / "w.pdparams"))
    assert load_tool("convert_weights").main([str(tmp_path / "w"), str(tmp_path / "w.safetensors")]) == 0
    assert "wrote 8 tensors" in capsys.readouterr().out
    with open(tmp_path / "w.safetensors", "rb") as f:
        assert b"numpy" not in f.read()  # a JSON header and raw bytes

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(paddle, "load", no_pickle)
    dst = _net(seed=4)
    assert load_weights(dst, tmp_path / "w.safetensors").endswith(".safetensors")
    for k, v in _params(src).items():
        np.testing.assert_array_equal(_params(dst)[k], v)
    (tmp_path / "bad.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(WeightsError, match="not a readable .safetensors file"):
        read_state_dict(tmp_path / "bad.safetensors")


def test_a_url_offline_fails_in_one_line(tmp_path):
    with pytest.raises(WeightsNotFoundError) as err:  # nothing listens on port 9 of this host
        load_weights(_net(), "http://127.0.0.1:9/blazeface_fpn_ssh_1000e.pdparams")
    assert str(err.value).startswith("cannot download weights http://127.0.0.1:9/blazeface_fpn_ssh_1000e.pdparams")
    assert "download the file elsewhere and pass its local path" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(WeightsNotFoundError, match="must point to a .pdparams file"):
        load_weights(_net(), "https://example.invalid/weights.tar")


# ------------------------------------------------------------------------------------------------
# Resume checks
# ------------------------------------------------------------------------------------------------
def test_resume_needs_pdparams_and_pdopt_that_fit(tmp_path):
    net = _net()
    paddle.save(net.state_dict(), str(tmp_path / "3.pdparams"))
    with pytest.raises(WeightsNotFoundError, match=f"cannot resume: {tmp_path / '3.pdopt'} not found"):
        resume_checkpoint_base(tmp_path / "3")
    with pytest.raises(WeightsError, match="holds weights only"):
        resume_checkpoint_base(tmp_path / "3.safetensors")
    paddle.save({"last_epoch": 3, "m": np.zeros(2, np.float32)}, str(tmp_path / "3.pdopt"))
    assert check_resume_checkpoint(net, str(tmp_path / "3.pdparams")) == str(tmp_path / "3")
    with pytest.raises(WeightsError, match="do not fit Sequential"):
        check_resume_checkpoint(_net(channels=8), tmp_path / "3")
    with open(tmp_path / "3.pdopt", "wb") as f:
        pickle.dump({"last_epoch": _Payload(tmp_path / "ran")}, f)
    with pytest.raises(UnsafeWeightsError):
        check_resume_checkpoint(net, tmp_path / "3")
    assert not (tmp_path / "ran").exists()


# ------------------------------------------------------------------------------------------------
# The tools
# ------------------------------------------------------------------------------------------------
def test_eval_and_export_tools_refuse_weights_of_another_architecture(tmp_path):
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config

    paddle.save(create(load_config(str(PLAIN)).architecture).state_dict(), str(tmp_path / "plain.pdparams"))
    with pytest.raises(SystemExit) as err:
        load_tool("export_model").main(["-c", str(FPN_SSH), "-o", f"weights={tmp_path / 'plain'}",
                                    "--output_dir", str(tmp_path / "out")])
    assert str(err.value.code).startswith(f"error: weights {tmp_path / 'plain.pdparams'} do not fit BlazeFaceDetector")
    assert "missing from the file" in str(err.value.code) and not (tmp_path / "out").exists()
    import cv2

    root = tmp_path / "wider"
    (root / "WIDER_val" / "images" / "e").mkdir(parents=True)
    cv2.imwrite(str(root / "WIDER_val" / "images" / "e" / "a.jpg"), np.zeros((32, 32, 3), np.uint8))
    (root / "wider_face_split").mkdir()
    (root / "wider_face_split" / "wider_face_val_bbx_gt.txt").write_text("e/a.jpg\n1\n1 1 9 9 0 0 0 0 0 0\n")
    with pytest.raises(SystemExit) as err:
        load_tool("eval").main(["-c", str(FPN_SSH), "-o", f"weights={tmp_path / 'plain.pdparams'}",
                            "--dataset_dir", str(root), "--pred_dir", str(tmp_path / "pred"), "--no_progress"])
    message = str(err.value.code)
    assert message.startswith(f"error: weights {tmp_path / 'plain.pdparams'} do not fit BlazeFaceDetector")
    assert "  shape mismatches (4):" in message and "  missing from the file (65):" in message
    assert not (tmp_path / "pred").exists()


def test_train_tool_weights_errors(tmp_path):
    """-r without the checkpoint fails in one line before anything is built; pretrain weights of another
    architecture fail with the key listing and the --allow_partial_weights hint."""
    train = REPO / "tools" / "train.py"
    proc = _run(train, "-c", PLAIN, "-r", tmp_path / "ckpt" / "7")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: cannot resume: {tmp_path / 'ckpt' / '7.pdparams'} and {tmp_path / 'ckpt' / '7.pdopt'} not found "
        "(a checkpoint is <save_dir>/<config>/<epoch>.pdparams + .pdopt; pass -r without the suffix)")
    paddle.save(_net().state_dict(), str(tmp_path / "other.pdparams"))
    from ppdet_face.data.synthetic import generate_wider_dataset

    generate_wider_dataset(tmp_path / "data", num_train=2, num_val=1, seed=0, image_size=(64, 64), progress=False)
    proc = _run(train, "-c", PLAIN, "-o", f"pretrain_weights={tmp_path / 'other'}", "worker_num=0",
                f"TrainDataset.dataset_dir={tmp_path / 'data'}", f"save_dir={tmp_path / 'out'}")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"error: weights {tmp_path / 'other.pdparams'} do not fit BlazeFaceDetector" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == \
        "(to fine-tune from weights of another head, pass --allow_partial_weights)"
    assert not (tmp_path / "out").exists()
