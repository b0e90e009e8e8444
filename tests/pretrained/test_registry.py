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


@pytest.mark.parametrize("name", BUNDLED_MODELS)
def test_card_front_matter_matches_its_ap_table(name):
    """The front matter's AP (what the registry, the bundled exports and `ppdet-face models` show) is the AP of
    the card's own table rows."""
    model = bundled_model(name)
    assert model.info["name"] == name
    rows = {line.split("|")[1].strip(): [float(v) for v in line.split("|")[2:5]]
            for line in model.card.read_text(encoding="utf-8").splitlines()
            if line.startswith(("| single-scale (original size)", "| multi-scale (published recipe)"))}
    assert rows["single-scale (original size)"] == model.info["wider_real_ap"]["single_scale"]
    assert rows["multi-scale (published recipe)"] == model.info["wider_real_ap"]["multi_scale"]


def test_a_card_without_front_matter_is_one_clear_error(tmp_path):
    from ppdet_face_deploy.cards import read_card
    from ppdet_face_deploy.preprocess import DeployError

    (tmp_path / "x.md").write_text("# Model card\n", encoding="utf-8")
    with pytest.raises(DeployError, match="no front matter"):
        read_card(str(tmp_path / "x.md"))
    (tmp_path / "y.md").write_text("---\nname: y\n---\n# card\n", encoding="utf-8")
    with pytest.raises(DeployError, match="front matter lacks title, config, licence, wider_real_ap"):
        read_card(str(tmp_path / "y.md"))
