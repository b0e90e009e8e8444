"""ppdet_face/config_keys.py: declared keys, defaults and validation."""
import pytest

from ppdet_face import config_keys
from ppdet_face.config_keys import ConfigError


def test_every_key_has_a_doc_and_a_valid_default():
    for key in config_keys.KEYS.values():
        assert key.doc and key.name.islower()
        assert config_keys.get({}, key.name) == key.default
    assert set(config_keys.KEYS) <= config_keys.TOP_LEVEL_KEYS


@pytest.mark.parametrize("value, message", [
    (True, "eval_backend must be str"),
    ("fast", "'fast' is not supported; allowed values: auto, inference, dygraph"),
])
def test_eval_backend_errors(value, message):
    with pytest.raises(ConfigError, match=message):
        config_keys.get({"eval_backend": value}, "eval_backend")


def test_bool_from_string_and_minimum():
    assert config_keys.get({"multi_scale_eval": "True"}, "multi_scale_eval") is True
    with pytest.raises(ConfigError, match="eval_max_side must be >= 0, got -1"):
        config_keys.get({"eval_max_side": -1}, "eval_max_side")


def test_multi_scale_pyramid():
    assert config_keys.get({"multi_scale_pyramid": [500, 800]}, "multi_scale_pyramid") == [500, 800]
    assert config_keys.get({"multi_scale_pyramid": (500,)}, "multi_scale_pyramid") == [500]
    assert config_keys.get({"multi_scale_pyramid": None}, "multi_scale_pyramid") is None
    for bad, message in (([], "must not be empty"), ([500, 0], "every value must be >= 1"),
                         ([500.5], "list of integers"), ("500", "must be list"), ([True], "list of integers")):
        with pytest.raises(ConfigError, match=message):
            config_keys.get({"multi_scale_pyramid": bad}, "multi_scale_pyramid")


def test_train_only_takes_a_list_of_names():
    assert config_keys.get({"train_only": ["blaze_head.landmarks0"]}, "train_only") == ["blaze_head.landmarks0"]
    with pytest.raises(ConfigError, match="train_only must be a list of str values, got \\[3\\]"):
        config_keys.get({"train_only": [3]}, "train_only")
