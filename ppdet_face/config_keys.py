"""Our own top-level config keys, each declared once: name, default, type, one-line doc.

In the style of detectron2's ``config/defaults.py``: code reads these keys only through :func:`get`, so
the default and the validation live here and nowhere else. PaddleDetection's own keys are listed in
:data:`PPDET_KEYS`; :data:`TOP_LEVEL_KEYS` (what a config may set at the top level) is built from both.
"""
from dataclasses import dataclass

__all__ = ["ConfigError", "Key", "KEYS", "PPDET_KEYS", "TOP_LEVEL_KEYS", "get"]


class ConfigError(ValueError):
    """A config or override the user must fix; the message says what and where."""


@dataclass(frozen=True)
class Key:
    """One declared config key."""

    name: str
    default: object
    type: type
    doc: str
    choices: tuple = ()
    minimum: float = None
    item_type: type = int  # the type of each item of a list key


KEYS = {k.name: k for k in (
    Key("cpu_threads", 0, int, "CPU threads per process; 0: Paddle's default in training, all available cores "
        "in evaluation", minimum=0),
    Key("multi_scale_eval", False, bool, "WIDER evaluation: the published multi-scale recipe (flip, shrink/enlarge, "
        "pyramid, box voting) instead of one pass at the original size"),
    Key("multi_scale_pyramid", None, list, "multi-scale evaluation: shorter sides (px) of SSH's test pyramid "
        "(e.g. [500, 800, 1200, 1600]: one pass each, merged by NMS); None: the published recipe", minimum=1),
    Key("eval_backend", "auto", str, "network of the WIDER evaluation: Paddle Inference + oneDNN, dygraph, or "
        "auto (inference when available)", choices=("auto", "inference", "dygraph")),
    Key("eval_max_side", 2048, int, "single-scale evaluation: images with a longer side are downscaled to it "
        "(bounds memory); 0: never", minimum=0),
    Key("difficulty_file", None, str, "per-image easy/medium/hard face indices; None: "
        "difficulty_easy_medium_hard.txt beside the ground-truth file"),
    Key("train_only", None, list, "training: only the parameters under these names train (module paths, e.g. "
        "[blaze_head.landmarks0, blaze_head.landmarks1]); the others are frozen and BatchNorm outside them uses its "
        "running statistics; None: everything trains", item_type=str),
    Key("loss_explosion_factor", 100.0, float, "training stops when the loss exceeds this times the running "
        "median of good iterations, 3 iterations in a row; 0: off", minimum=0),
)}

#: Lower-case top-level keys that PaddleDetection 2.6's trainer, tools and readers read.
PPDET_KEYS = frozenset((
    # model, weights, run
    "architecture", "pretrain_weights", "weights", "metric", "num_classes", "epoch", "log_iter", "save_dir",
    "snapshot_epoch", "worker_num", "filename", "yml", "use_gpu", "use_xpu", "use_mlu", "use_npu", "use_gcu",
    "find_unused_parameters", "log_ranks", "print_flops", "print_params", "profiler_options", "norm_type",
    # EMA, AMP, logging
    "use_ema", "ema_decay", "ema_decay_type", "ema_filter_no_grad", "ema_black_list", "ema_start_iters",
    "use_simple_ema", "cycle_epoch", "amp", "amp_level", "init_loss_scaling", "custom_black_list",
    "custom_white_list", "master_grad", "use_vdl", "vdl_log_dir", "use_wandb", "wandb",
    # eval / export / slim
    "save_prediction_only", "output_eval", "classwise", "map_type", "infer_img", "label_list",
    "export_onnx", "export_eb", "fuse_normalize", "to_static", "min_subgraph_size", "slim", "slim_type",
    "unstructured_prune", "fleet",
))

#: Every lower-case top-level key a config may set. A key outside this set is a typo until proven
#: otherwise (``snapshot_epcoh: 5`` would otherwise be ignored in silence); declare new keys in KEYS.
TOP_LEVEL_KEYS = PPDET_KEYS | frozenset(KEYS)


def _coerce(key, value):
    if key.type is bool and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if key.type is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if value is None and key.default is None:
        return None
    if key.type is list and isinstance(value, tuple):
        value = list(value)
    if key.type is list and isinstance(value, list) and not value:
        raise ConfigError(f"{key.name} must not be empty ({key.doc})")
    if not isinstance(value, key.type) or (key.type is int and isinstance(value, bool)):
        raise ConfigError(f"{key.name} must be {key.type.__name__}, got {value!r} ({key.doc})")
    return value


def get(cfg, name):
    """The value of declared key ``name`` in ``cfg`` (its default when unset), type-checked.

    Raises:
        KeyError: ``name`` is not declared in :data:`KEYS`.
        ConfigError: a value of the wrong type, outside its choices or below its minimum.
    """
    key = KEYS[name]
    value = cfg.get(name, key.default)
    value = key.default if value is None else _coerce(key, value)
    if key.choices and value not in key.choices:
        raise ConfigError(f"{name}: {value!r} is not supported; allowed values: {', '.join(key.choices)}")
    if key.type is list and value is not None:
        if not all(isinstance(v, key.item_type) and not isinstance(v, bool) for v in value):
            kind = "integers" if key.item_type is int else f"{key.item_type.__name__} values"
            raise ConfigError(f"{name} must be a list of {kind}, got {value!r} ({key.doc})")
        if key.minimum is not None and min(value) < key.minimum:
            raise ConfigError(f"{name}: every value must be >= {key.minimum:g}, got {value!r}")
        return value
    if key.minimum is not None and value is not None and value < key.minimum:
        raise ConfigError(f"{name} must be >= {key.minimum:g}, got {value!r}")
    return value
