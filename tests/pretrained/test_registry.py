"""ppdet_face.pretrained: every bundled model has its config, weights and card, and loads strictly into its config."""
import pytest

from ppdet_face.pretrained import BUNDLED_MODELS, DEFAULT_MODEL, bundled_model


@pytest.mark.parametrize("name", BUNDLED_MODELS)
def test_bundled_model_files_exist_and_weights_fit_the_config(name):
    from ppdet.core.workspace import create

    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import load_weights

    model = bundled_model(name)
    assert model.config.is_file() and model.card.is_file()
    assert model.weights.is_file() and model.weights.stat().st_size <= 1_000_000
    assert "non-commercial research" in model.licence
    load_weights(create(load_config(str(model.config)).architecture), str(model.weights))  # strict


def test_default_model_is_the_published_fpn_ssh():
    assert DEFAULT_MODEL == "blazeface_fpn_ssh_1000e" and list(BUNDLED_MODELS)[0] == DEFAULT_MODEL


def test_unknown_model_lists_the_bundled_ones():
    with pytest.raises(ValueError, match="blazeface_fpn_ssh_1000e.*blazeface_1000e.*blazeface_fpn_ssh_wider_real"):
        bundled_model("blazeface_fpn_ssh")
