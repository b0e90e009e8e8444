"""Exported models shared by the deploy tests (seeded random weights, calibrated scores)."""
import pytest

from helpers import export_random_model


@pytest.fixture(scope="session")
def dynamic_export(tmp_path_factory):
    """(dygraph model, export dir) with model.json + model.onnx, dynamic H x W."""
    return export_random_model(tmp_path_factory.mktemp("deploy_dynamic"), fmt="onnx")


@pytest.fixture(scope="session")
def fixed_export(tmp_path_factory):
    """(dygraph model, export dir) with a fixed 320 x 320 input (Resize in Preprocess)."""
    return export_random_model(tmp_path_factory.mktemp("deploy_fixed"), fmt="onnx", fixed_shape=320)
