"""Training stops at the first non-finite loss and names where it happened."""
import types

import numpy as np
import paddle
import pytest
from ppdet.utils.stats import TrainingStats

from ppdet_face.engine import NonFiniteLossError
from ppdet_face.engine.trainer import NonFiniteLossGuard


def _status(loss):
    stats = TrainingStats(20)
    stats.update({"loss": paddle.to_tensor([1.0])})
    stats.update({"loss": paddle.to_tensor([loss])})
    return {"mode": "train", "epoch_id": 3, "step_id": 17, "training_staus": stats}


def test_finite_loss_passes():
    guard = NonFiniteLossGuard(types.SimpleNamespace(cfg=types.SimpleNamespace(save_dir="out", filename="cfg")))
    guard.on_step_end(_status(0.5))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_stops_with_epoch_and_iteration(bad):
    model = types.SimpleNamespace(cfg=types.SimpleNamespace(save_dir="out", filename="cfg"))
    guard = NonFiniteLossGuard(model)
    with pytest.raises(NonFiniteLossError, match=r"epoch 3, iteration 17.*out/cfg"):
        guard.on_step_end(_status(bad))


def _guard(**kwargs):
    return NonFiniteLossGuard(types.SimpleNamespace(cfg=types.SimpleNamespace(save_dir="out", filename="cfg")),
                              **kwargs)


def _feed(guard, losses, epoch=0):
    for step, loss in enumerate(losses):
        stats = TrainingStats(20)
        stats.update({"loss": paddle.to_tensor([float(loss)])})
        guard.on_step_end({"mode": "train", "epoch_id": epoch, "step_id": step, "training_staus": stats})


def test_finite_explosion_stops_after_patience_iterations_in_a_row():
    guard = _guard(explosion_factor=100, patience=3, warmup=20)
    rng = np.random.RandomState(0)
    normal = 5.0 + rng.rand(30)
    _feed(guard, normal)
    _feed(guard, [1e4, 2e4], epoch=1)  # two exploding iterations: not yet
    with pytest.raises(NonFiniteLossError, match=r"loss exploded: 3e\+04, more than 100x the median 5\.\d+ of the "
                                                 r"previous 30 iterations, for 3 iterations in a row at epoch 1, "
                                                 r"iteration 0; training stopped.*out/cfg"):
        _feed(guard, [3e4], epoch=1)


def test_single_spikes_warmup_and_factor_zero_do_not_stop():
    guard = _guard(explosion_factor=100, patience=3, warmup=20)
    _feed(guard, [1e6] + [5.0] * 10 + [1e6] * 5)  # before warm-up: nothing to compare with
    guard = _guard(explosion_factor=100, patience=3, warmup=20)
    _feed(guard, [5.0] * 25 + [1e4, 1e4, 5.0, 1e4, 1e4, 5.0] * 3)  # spikes, never 3 in a row
    assert len(guard.history) == 25 + 6
    guard = _guard(explosion_factor=0)
    _feed(guard, [5.0] * 25 + [1e30] * 10)
    with pytest.raises(ValueError, match="loss_explosion_factor must be >= 0"):
        _guard(explosion_factor=-1)
