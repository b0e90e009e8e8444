"""Training stops at the first non-finite loss and names where it happened."""
import types

import numpy as np
import pytest
from ppdet.utils.stats import TrainingStats
import paddle

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
