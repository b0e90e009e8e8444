"""Loading configs: safe YAML, ``-o key=value`` overrides with clear errors, device set-up."""
import difflib
import inspect
import os
import re

import yaml

from .. import config_keys
from ..config_keys import TOP_LEVEL_KEYS, ConfigError

__all__ = ["ConfigError", "TOP_LEVEL_KEYS", "load_config", "parse_overrides", "reset_global_config", "setup_device",
           "validate_config"]

# Python object tags execute code under yaml.Loader (which ppdet uses); we refuse them up front.
_UNSAFE_TAG = re.compile(r"!!python/|!python/")


_YAML11_MISSED_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _check_tags(path, seen=None):
    seen = set() if seen is None else seen
    path = os.path.abspath(path)
    if path in seen:
        return
    seen.add(path)
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    for lineno, line in enumerate(text.splitlines(), 1):
        if _UNSAFE_TAG.search(line.split("#", 1)[0]):
            raise ConfigError(f"{path}:{lineno}: python object tags are refused (they would execute code): "
                              f"{line.strip()}")
    match = re.search(r"^_BASE_:\s*(\[.*?\]|(?:\n\s*-.*)+)", text, re.S | re.M)
    if match:
        bases = yaml.safe_load("x: " + match.group(1))["x"] or []
        for base in bases:
            _check_tags(os.path.join(os.path.dirname(path), base.lstrip("~")), seen)


def parse_overrides(opts):
    """Turn ``["a.b=1", "c=[1, 2]"]`` into a nested dict (values parsed as YAML, safely).

    Raises:
        ConfigError: for an item without ``=``, an empty key, or a value that is not valid YAML.
    """
    out = {}
    for item in opts or []:
        if "=" not in item:
            raise ConfigError(f"-o {item!r}: expected key=value")
        key, value = item.split("=", 1)
        keys = key.strip().split(".")
        if not all(keys):
            raise ConfigError(f"-o {item!r}: empty key")
        if _UNSAFE_TAG.search(value):
            raise ConfigError(f"-o {item!r}: python object tags are refused")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"-o {item!r}: value is not valid YAML ({exc.problem})") from None
        parsed = _fix_missed_floats(parsed)  # YAML 1.1 reads "1e30" (no dot) as a string, also inside [..]
        cur = out
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        cur[keys[-1]] = parsed
    return out


def load_config(path, overrides=None):
    """Load ``path`` (with its ``_BASE_`` chain) into ppdet's global config and apply overrides.

    Args:
        path (str): the leaf YAML.
        overrides (list[str]|dict|None): ``-o`` items or an already parsed dict.

    Returns:
        ppdet's ``AttrDict`` config, with ``filename`` set to the config's stem.
    """
    from ppdet.core.workspace import load_config as ppdet_load_config
    from ppdet.core.workspace import merge_config

    import ppdet_face

    ppdet_face.register()  # our components, before ppdet parses the YAML

    _check_tags(path)
    reset_global_config()
    try:
        cfg = ppdet_load_config(path)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    _fix_missed_floats(cfg)
    if overrides:
        if not isinstance(overrides, dict):
            overrides = parse_overrides(overrides)
        _apply_overrides(cfg, overrides, merge_config)
    _expand_dataset_dirs(cfg)
    validate_config(cfg)
    return cfg


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value, where):
    """Replace ``${NAME}`` / ``${NAME:-default}`` in ``value`` by the environment variable (or default).

    Raises:
        ConfigError: naming ``where`` when a variable without default is not set.
    """
    def lookup(match):
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is None:
            raise ConfigError(f"{where}: environment variable {name} is not set (set it, or give the path with -o)")
        return default

    return _ENV_REF.sub(lookup, value)


def _expand_dataset_dirs(cfg):
    """Expand environment references in every dataset's ``dataset_dir`` (e.g. ``${PPDET_FACE_SHARED:-../shared}``)."""
    for key, value in cfg.items():
        directory = getattr(value, "dataset_dir", None)
        if isinstance(directory, str) and "${" in directory:
            value.dataset_dir = expand_env(directory, f"{key}.dataset_dir")


def _fix_missed_floats(node, depth=0):
    """Turn strings like ``1e30`` / ``5e-4`` (floats without a dot, which YAML 1.1 and so ppdet's
    loader read as strings) into floats, in place: in dicts, lists and the objects YAML tags
    build (``!PiecewiseDecay``'s ``values``). Returns the fixed value for the caller to store."""
    if isinstance(node, str):
        return float(node) if _YAML11_MISSED_FLOAT.fullmatch(node.strip()) else node
    if depth > 8:
        return node
    if isinstance(node, dict):
        for key in list(node.keys()):
            node[key] = _fix_missed_floats(node[key], depth + 1)
    elif isinstance(node, list):
        node[:] = [_fix_missed_floats(v, depth + 1) for v in node]
    elif type(node).__module__.startswith(("ppdet.", "ppdet_face.")) and hasattr(node, "__dict__"):
        for key, value in vars(node).items():
            if isinstance(value, (str, dict, list)):
                setattr(node, key, _fix_missed_floats(value, depth + 1))
    return node


def _suggest(name, choices):
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _accepts_any_kwargs(schema_dict):
    cls = getattr(schema_dict.pymodule, schema_dict.name, None)
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_KEYWORD for p in params)


def validate_config(cfg):
    """Check component names and options against the registry.

    Raises:
        ConfigError: naming the unknown section, option or component and the closest valid name.
    """
    from ppdet.core.config.schema import SchemaDict

    registered = {k for k, v in cfg.items() if isinstance(v, SchemaDict)}
    arch = cfg.get("architecture")
    if arch is not None and arch not in registered:
        raise ConfigError(f"architecture: unknown component {arch!r}{_suggest(arch, registered)}")
    for key, value in cfg.items():
        if isinstance(value, dict) and not isinstance(value, SchemaDict) and re.fullmatch(r"[A-Z]\w*", key) \
                and key not in registered:
            raise ConfigError(f"unknown component section {key!r} (not registered){_suggest(key, registered)}")
        if re.fullmatch(r"[a-z_][a-z0-9_]*", key) and key not in TOP_LEVEL_KEYS and key not in registered \
                and not key.startswith("_"):
            raise ConfigError(f"unknown top-level key {key!r}{_suggest(key, TOP_LEVEL_KEYS)} (known keys are "
                              "declared in ppdet_face/config_keys.py)")
    for name in registered:
        section = cfg[name]
        if not dict(section):
            continue
        if not _accepts_any_kwargs(section):
            for option in section:
                if option not in section.schema:
                    raise ConfigError(f"{name}.{option}: unknown option{_suggest(option, section.schema)} "
                                      f"(options: {', '.join(section.schema)})")
        refs = set(getattr(section, "inject", None) or []) | {
            k for k, v in section.items() if isinstance(v, str) and re.fullmatch(r"[A-Z][A-Za-z0-9]+", v)}
        for option in sorted(refs):
            target = section.get(option)
            if isinstance(target, str) and target not in registered:
                raise ConfigError(f"{name}.{option}: unknown component {target!r}{_suggest(target, registered)}")


_REGISTRY = {}


def reset_global_config():
    """Forget what earlier configs merged into ppdet's process-wide ``global_config``.

    ppdet merges every loaded YAML into one global dict, so loading a second config in the
    same process inherits the first one's values (and typos). We keep the registered
    component schemas and drop every user value.
    """
    from ppdet.core.config.schema import SchemaDict
    from ppdet.core.workspace import global_config

    _REGISTRY.update({k: v for k, v in global_config.items() if isinstance(v, SchemaDict)})
    global_config.clear()
    for name, schema in _REGISTRY.items():
        schema.clear()
        global_config[name] = schema


def _apply_overrides(cfg, overrides, merge_config):
    """Merge ``overrides`` into ``cfg``; a key naming an object built by a YAML tag (e.g. a
    ``!WIDERFaceDetDataset``) sets that object's attributes instead of replacing it by a dict."""
    plain = {}
    for key, value in overrides.items():
        target = cfg.get(key)
        if isinstance(value, dict) and target is not None and not isinstance(target, dict) \
                and hasattr(target, "__dict__"):
            _set_attrs(target, value, key)
        else:
            plain[key] = value
    if plain:
        merge_config(plain)


def _set_attrs(obj, values, where):
    for name, value in values.items():
        if not hasattr(obj, name):
            known = sorted(k for k in vars(obj) if not k.startswith("_"))
            raise ConfigError(f"-o {where}.{name}: {type(obj).__name__} has no option {name!r}; "
                              f"known: {', '.join(known)}")
        current = getattr(obj, name)
        if isinstance(value, dict) and current is not None and hasattr(current, "__dict__") \
                and not isinstance(current, dict):
            _set_attrs(current, value, f"{where}.{name}")
        else:
            setattr(obj, name, value)


def setup_device(cfg):
    """Select GPU when configured and available, else CPU; apply ``cpu_threads``. Returns the device."""
    import paddle

    want_gpu = bool(cfg.get("use_gpu", False))
    if want_gpu and not paddle.is_compiled_with_cuda():
        raise ConfigError("use_gpu=true but this PaddlePaddle has no CUDA support "
                          "(install paddlepaddle-gpu, or run with -o use_gpu=false)")
    device = "gpu" if want_gpu else "cpu"
    paddle.set_device(device)
    threads = config_keys.get(cfg, "cpu_threads")
    if device == "cpu" and threads > 0:
        paddle.set_flags({"FLAGS_paddle_num_threads": threads})
    return device
