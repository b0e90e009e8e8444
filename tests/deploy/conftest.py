"""Exported models shared by the deploy tests (seeded random weights, calibrated scores)."""
import sys

import pytest

from helpers import CONFIGS, REPO

if str(REPO) not in sys.path:  # `from deploy.python.infer import Detector` as from the repository root
    sys.path.insert(0, str(REPO))

CONFIG = CONFIGS / "face_detection" / "blazeface_fpn_ssh_1000e.yml"


def _export(root, **kwargs):
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config
    from ppdet_face.export import export_model, init_random_weights

    cfg = load_config(str(CONFIG))
    model = create(cfg.architecture)
    init_random_weights(model, seed=1, face_logit_bias=-8.0)
    return model, export_model(model, cfg, str(root), **kwargs)


@pytest.fixture(scope="session")
def dynamic_export(tmp_path_factory):
    """(dygraph model, export dir) with model.json + model.onnx, dynamic H x W."""
    return _export(tmp_path_factory.mktemp("deploy_dynamic"), fmt="onnx")


@pytest.fixture(scope="session")
def fixed_export(tmp_path_factory):
    """(dygraph model, export dir) with a fixed 320 x 320 input (Resize in Preprocess)."""
    return _export(tmp_path_factory.mktemp("deploy_fixed"), fmt="onnx", fixed_shape=320)
