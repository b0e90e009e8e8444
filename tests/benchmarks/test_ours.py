"""benchmarks/ours.py: the deploy benchmarks' export of our model finds weights as the tools do."""
import pytest
import yaml

import benchmarks.ours as ours


def test_export_ours_takes_weights_without_suffix_and_refuses_missing_ones(tmp_path):
    from ppdet_face.engine.weights import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match="weights not found"):
        ours.export_ours(ours.DEFAULT_CONFIG, tmp_path / "nope", tmp_path)
    bare = str(ours.DEFAULT_WEIGHTS).removesuffix(".safetensors")  # as -o weights=pretrained/<name> takes it
    save_dir, random = ours.export_ours(ours.DEFAULT_CONFIG, bare, tmp_path, fixed_shape=160)
    assert random is False
    with open(f"{save_dir}/infer_cfg.yml", encoding="utf-8") as f:
        assert yaml.safe_load(f)["random_weights"] is False
