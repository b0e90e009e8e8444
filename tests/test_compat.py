"""The ppdet compatibility fixes are applied and do what they say."""
import os

import paddle
import pytest

import ppdet_face
from ppdet_face import compat


def test_fixes_are_applied_on_import():
    import ppdet.engine.callbacks as callbacks
    import ppdet.utils.checkpoint as checkpoint

    assert "atomic_checkpoints" in compat.APPLIED
    assert checkpoint.save_model is compat.atomic_save_model
    assert callbacks.save_model is compat.atomic_save_model
    assert compat.apply() == compat.APPLIED  # idempotent


def _opt():
    layer = paddle.nn.Linear(2, 2)
    return layer, paddle.optimizer.SGD(0.1, parameters=layer.parameters())


def test_atomic_save_writes_loadable_files(tmp_path):
    layer, opt = _opt()
    compat.atomic_save_model(layer.state_dict(), opt, str(tmp_path), "model_final", 7)
    assert sorted(os.listdir(tmp_path)) == ["model_final.pdopt", "model_final.pdparams"]
    assert paddle.load(str(tmp_path / "model_final.pdopt"))["last_epoch"] == 7


def test_a_crash_during_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    layer, opt = _opt()
    compat.atomic_save_model(layer.state_dict(), opt, str(tmp_path), "model_final", 1)
    before = (tmp_path / "model_final.pdparams").read_bytes()
    real_save = paddle.save

    def dying_save(obj, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"torn")  # a partial write, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(paddle, "save", dying_save)
    with paddle.no_grad():
        layer.weight.set_value(layer.weight * 0 + 5)
    with pytest.raises(KeyboardInterrupt):
        compat.atomic_save_model(layer.state_dict(), opt, str(tmp_path), "model_final", 2)
    monkeypatch.setattr(paddle, "save", real_save)
    assert (tmp_path / "model_final.pdparams").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model_final.pdopt", "model_final.pdparams"]
    assert ppdet_face.__version__
