"""train_only: only the named parameters train; the rest, BatchNorm statistics included, stay as they were."""
import numpy as np
import paddle
import pytest

from helpers import CONFIGS
from ppdet_face.config_keys import ConfigError
from ppdet_face.engine.trainer import freeze_except

LANDMARKS = ["blaze_head.landmarks0", "blaze_head.landmarks1"]


def _kps_model():
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config

    paddle.seed(0)
    return create(load_config(str(CONFIGS / "face_detection" / "blazeface_fpn_ssh_kps_demo.yml")).architecture)


def test_only_the_named_parameters_and_no_statistics_change():
    model = _kps_model()
    trained, frozen = freeze_except(model, LANDMARKS)
    assert trained == 4 and frozen == len(model.parameters()) - 4
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    boxes = paddle.to_tensor([[[0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.9, 0.95]]])  # one face per anchor level
    points = paddle.to_tensor(np.tile(np.array([[0.2, 0.2, 0.3, 0.2, 0.25, 0.3, 0.2, 0.4, 0.3, 0.4]], np.float32),
                                      (1, 2, 1)))
    model.train()
    opt = paddle.optimizer.Adam(0.01, parameters=model.parameters())
    out = model({"image": paddle.randn([1, 3, 160, 160]) * 2 + 1, "gt_bbox": boxes,
                 "gt_class": paddle.zeros([1, 2, 1], "int32"), "gt_landmarks": points})
    out["loss"].backward()
    opt.step()
    changed = sorted(k for k, v in model.state_dict().items() if not np.array_equal(v.numpy(), before[k]))
    assert changed == sorted(f"{p}.{w}" for p in LANDMARKS for w in ("bias", "weight"))


def test_a_name_without_parameters_is_one_clear_error():
    with pytest.raises(ConfigError, match=r"train_only: blaze_head.landmark name no parameter .*blaze_head"):
        freeze_except(_kps_model(), ["blaze_head.landmark"])
