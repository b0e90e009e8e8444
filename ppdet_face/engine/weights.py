"""Loading model weights: one strict loader for training, eval and export, and a pickle-free path.

:func:`load_weights` is the only way our tools put weights into a model:

* ``path`` may be ``<name>.pdparams``, ``<name>.safetensors``, ``<name>`` (``.pdparams`` is tried
  first, then ``.safetensors``) or an ``http(s)://`` / ``ppdet://`` URL of a ``.pdparams`` file
  (downloaded into ppdet's cache, ``~/.cache/paddle/weights``, as ``ppdet`` does).
* A missing file is a :class:`WeightsNotFoundError` whose one-line message names the path tried.
* By default every tensor of the model must be in the file with the same shape and the file must
  hold nothing else; otherwise :class:`WeightsError` lists the shape mismatches (name, expected
  shape, shape in the file), the missing and the unexpected names (the first 10 of each, with
  counts). ``allow_partial=True`` (``tools/train.py --allow_partial_weights``, fine-tuning only)
  loads the tensors whose name and shape match and keeps the others at their initialisation.

**Pickle.** A ``.pdparams`` file is a Python pickle (``paddle.save``); unpickling an untrusted file
with ``paddle.load`` can run arbitrary code. We never call ``paddle.load`` on weights: ``.pdparams``
files are read by :func:`read_state_dict` with a restricted unpickler that only rebuilds numpy arrays
(plus dicts, lists, tuples, numbers and strings) and refuses every other Python object with
:class:`UnsafeWeightsError`, before anything is executed. ``.safetensors`` files
(``tools/convert_weights.py in.pdparams out.safetensors``) involve no pickle at all. Resuming
(``-r``) goes through ppdet's ``Trainer.resume_weights`` (``paddle.load``), so
:func:`check_resume_checkpoint` first reads ``.pdparams`` / ``.pdopt`` with the restricted unpickler.
"""
import collections
import io
import os
import pickle
import socket

import numpy as np

from ..utils.logging import get_logger

__all__ = ["WeightsError", "WeightsNotFoundError", "UnsafeWeightsError", "is_url", "resolve_weights",
           "read_state_dict", "compare_state_dict", "load_weights", "load_pretrain_weights", "load_state",
           "resume_checkpoint_base", "check_resume_checkpoint", "convert_to_safetensors", "save_safetensors",
           "safe_unpickle",
           "WEIGHT_SUFFIXES"]

logger = get_logger("weights")

#: Weight file suffixes tried, in order, for a path given without one.
WEIGHT_SUFFIXES = (".pdparams", ".safetensors")
#: How many names of each kind a mismatch message lists.
LIST_LIMIT = 10
#: Seconds before a weights download gives up on an unresponsive network.
DOWNLOAD_TIMEOUT = 60
_PARAM_NAME_TABLE = "StructuredToParameterName@@"  # paddle.save's structured-name -> parameter-name map


class WeightsError(ValueError):
    """Weights that cannot be used; the message says which file and why."""


class WeightsNotFoundError(WeightsError):
    """The weights file (or URL) does not exist or cannot be fetched; a one-line message."""


class UnsafeWeightsError(WeightsError):
    """A ``.pdparams`` pickle that references Python objects a weights file never needs."""


def is_url(path):
    """Whether ``path`` is a URL ppdet downloads (``http://``, ``https://``, ``ppdet://``)."""
    return str(path).startswith(("http://", "https://", "ppdet://"))


# ------------------------------------------------------------------------------------------------
# The restricted unpickler
# ------------------------------------------------------------------------------------------------
def _numpy_globals():
    """The numpy functions a pickled array refers to, under every module name numpy has used."""
    reconstruct = np.zeros(1).__reduce__()[0]  # numpy(._)core.multiarray._reconstruct
    scalar = np.float32(0).__reduce__()[0]  # numpy(._)core.multiarray.scalar
    out = {}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[(module, "_reconstruct")] = reconstruct
        out[(module, "scalar")] = scalar
    out[("numpy", "ndarray")] = np.ndarray
    out[("numpy", "dtype")] = np.dtype
    for module in ("numpy.core.numeric", "numpy._core.numeric"):
        out[(module, "_frombuffer")] = _frombuffer
    return out


def _frombuffer(buf, dtype, shape, order):
    """numpy's own ``_frombuffer`` (pickle protocol 5 arrays), re-implemented: no import by name."""
    if dtype == np.dtype(object):
        raise pickle.UnpicklingError("object arrays are refused")
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order)


_SAFE_GLOBALS = dict(_numpy_globals())
for _module in ("builtins", "__builtin__"):  # plain containers and numbers (Python 3 / Python 2 pickles)
    _SAFE_GLOBALS.update({(_module, t.__name__): t for t in (tuple, list, dict, set, frozenset)})
_SAFE_GLOBALS[("collections", "OrderedDict")] = collections.OrderedDict


class _RestrictedUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers only; any other global is refused unexecuted."""

    def find_class(self, module, name):
        obj = _SAFE_GLOBALS.get((module, name))
        if obj is None:
            raise UnsafeWeightsError(f"{module}.{name}")
        return obj

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent references are not supported")


def safe_unpickle(path):
    """Unpickle ``path`` allowing only numpy arrays and plain Python data (no code runs).

    Raises:
        WeightsNotFoundError: the file does not exist or cannot be read.
        UnsafeWeightsError: the pickle references any other Python object (named in the message).
        WeightsError: not a pickle, truncated, or an object (``dtype=object``) array inside.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise WeightsNotFoundError(f"weights not found: {path}") from None
    except OSError as exc:
        raise WeightsNotFoundError(f"cannot read weights {path}: {exc.strerror or exc}") from None
    if not data:
        raise WeightsError(f"{path}: empty file (0 bytes)")
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data)).load()
    except UnsafeWeightsError as exc:
        raise UnsafeWeightsError(
            f"{path}: refused to unpickle: it references the Python object {exc}, which a weights file does not "
            "need (unpickling it could run code). If you trust the file, convert it with "
            "tools/convert_weights.py --trust and use the .safetensors file") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path}: not a readable .pdparams pickle (truncated or not a weights file?): "
                           f"{reason}") from None
    _refuse_object_arrays(obj, path)
    return obj


def _refuse_object_arrays(obj, path, depth=0):
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise WeightsError(f"{path}: contains an array of Python objects (dtype=object); refused")
    elif isinstance(obj, dict) and depth < 8:
        for value in obj.values():
            _refuse_object_arrays(value, path, depth + 1)
    elif isinstance(obj, (list, tuple)) and depth < 8:
        for value in obj:
            _refuse_object_arrays(value, path, depth + 1)


# ------------------------------------------------------------------------------------------------
# Finding and reading a weights file
# ------------------------------------------------------------------------------------------------
def _download(url):
    """ppdet's download into its weights cache, with a socket timeout so that offline fails fast."""
    if not url.split("?", 1)[0].endswith(".pdparams"):
        raise WeightsNotFoundError(f"weights URL must point to a .pdparams file: {url}")
    try:
        from ppdet.utils.download import get_weights_path
    except ImportError as exc:  # pragma: no cover - ppdet is a dependency
        raise WeightsNotFoundError(f"cannot download {url}: ppdet is not importable ({exc})") from None
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        return get_weights_path(url)
    except Exception as exc:  # requests/urllib3 connection errors, HTTP status, md5 ...
        raise WeightsNotFoundError(f"cannot download weights {url} ({_network_reason(exc)}); "
                                   "download the file elsewhere and pass its local path") from None
    finally:
        socket.setdefaulttimeout(previous)


def _network_reason(exc):
    text = str(exc)
    for marker, reason in (("NameResolutionError", "host name not resolved: offline?"),
                           ("Temporary failure in name resolution", "host name not resolved: offline?"),
                           ("timed out", "timed out"), ("Timeout", "timed out"),
                           ("NewConnectionError", "connection failed"), ("Connection refused", "connection refused")):
        if marker in text:
            return reason
    first = text.strip().splitlines()[0][:160] if text.strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def resolve_weights(path):
    """The local weights file for ``path`` (see the module doc); downloads URLs.

    Raises:
        WeightsNotFoundError: one line naming the path(s) tried.
    """
    if not path:
        raise WeightsNotFoundError("weights not found: no weights given")
    path = os.fspath(path)
    if is_url(path):
        return _download(path)
    if path.endswith(WEIGHT_SUFFIXES):
        if not os.path.isfile(path):
            raise WeightsNotFoundError(f"weights not found: {path}")
        return path
    for suffix in WEIGHT_SUFFIXES:
        if os.path.isfile(path + suffix):
            return path + suffix
    if os.path.isfile(path):
        return path
    raise WeightsNotFoundError(f"weights not found: {path}.pdparams (nor {os.path.basename(path)}.safetensors)")


def read_state_dict(path):
    """``{name: numpy array}`` from a ``.safetensors`` file or a ``.pdparams`` pickle (read safely).

    Raises:
        WeightsError (or a subclass): unreadable, unsafe, or not a dict of tensors.
    """
    path = os.fspath(path)
    if path.endswith(".safetensors"):
        from safetensors.numpy import load_file

        if not os.path.isfile(path):
            raise WeightsNotFoundError(f"weights not found: {path}")
        try:
            return dict(load_file(path))
        except Exception as exc:  # SafetensorError (a bad header, truncated data), OSError
            raise WeightsError(f"{path}: not a readable .safetensors file: {str(exc).strip()[:200]}") from None
    obj = safe_unpickle(path)
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):  # {"model": state_dict, ...}
        obj = obj["model"]
    if not isinstance(obj, dict):
        raise WeightsError(f"{path}: holds a {type(obj).__name__}, not a dict of tensors (a state dict)")
    state = {}
    for key, value in obj.items():
        if key == _PARAM_NAME_TABLE:
            continue
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], np.ndarray):
            value = value[1]  # Paddle 2.x saved tensors as (name, array)
        if not isinstance(value, np.ndarray):
            raise WeightsError(f"{path}: entry {key!r} is a {type(value).__name__}, not a tensor "
                               "(is this a weights file? .pdopt files hold optimizer state)")
        state[str(key)] = value
    if not state:
        raise WeightsError(f"{path}: contains no tensors")
    return state


# ------------------------------------------------------------------------------------------------
# Matching a state dict to a model
# ------------------------------------------------------------------------------------------------
def compare_state_dict(model_state, state):
    """``(missing, unexpected, mismatched)``: model names absent from ``state``, names of ``state``
    the model lacks, and ``(name, model shape, file shape)`` for names whose shapes differ."""
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    mismatched = [(k, list(v.shape), list(state[k].shape)) for k, v in model_state.items()
                  if k in state and list(v.shape) != list(state[k].shape)]
    return missing, unexpected, mismatched


def _listing(title, items, fmt=str):
    if not items:
        return []
    lines = [f"  {title} ({len(items)}):"]
    lines += [f"    {fmt(item)}" for item in items[:LIST_LIMIT]]
    if len(items) > LIST_LIMIT:
        lines.append(f"    ... and {len(items) - LIST_LIMIT} more")
    return lines


def describe_mismatch(path, model_name, n_model, missing, unexpected, mismatched):
    """The multi-line explanation of a state dict that does not fit a model."""
    parts = [f"{len(mismatched)} shape mismatches" if mismatched else "",
             f"{len(missing)} missing" if missing else "", f"{len(unexpected)} unexpected" if unexpected else ""]
    lines = [f"weights {path} do not fit {model_name} ({n_model} tensors): "
             f"{', '.join(p for p in parts if p)} (wrong config or architecture?)"]
    lines += _listing("shape mismatches", mismatched, lambda m: f"{m[0]}: expected {m[1]}, got {m[2]} in the file")
    lines += _listing("missing from the file", missing)
    lines += _listing("unexpected in the file (not in the model)", unexpected)
    return "\n".join(lines)


def _to_model_dtype(array, like):
    import paddle

    tensor = paddle.to_tensor(np.ascontiguousarray(array))
    return tensor if tensor.dtype == like.dtype else tensor.astype(like.dtype)


def load_weights(model, path, allow_partial=False, hint=None):
    """Load weights into ``model``, strictly unless ``allow_partial``.

    Args:
        model (paddle.nn.Layer): the detector.
        path (str): ``.pdparams`` / ``.safetensors`` file, a path without suffix, or a URL (see module doc).
        allow_partial (bool): load only tensors whose name and shape match; the others keep their
            initial values (logged in one warning). At least one tensor must match.
        hint (str|None): a line appended to a mismatch error (e.g. which option relaxes it).

    Returns:
        str: the file loaded.

    Raises:
        WeightsNotFoundError: missing file / failed download (one line naming the path).
        UnsafeWeightsError: a pickle that references arbitrary Python objects.
        WeightsError: unreadable file, or names/shapes that do not fit the model.
    """
    found = resolve_weights(path)
    load_state(model, read_state_dict(found), found, allow_partial, hint)
    return found


def load_pretrain_weights(model, path, allow_partial=False, hint=None):
    """``pretrain_weights``: a whole detector's weights, or ImageNet weights of its backbone.

    A file without any ``backbone.`` name, for a detector whose backbone has ``map_pretrained_keys``
    (e.g. :class:`~ppdet_face.modeling.vision_backbones.VisionBackbone`), is the backbone's classification
    network: its names are mapped and it loads into the backbone only (strictly unless ``allow_partial``);
    anything else loads as :func:`load_weights`.

    Args:
        model (paddle.nn.Layer): the detector.
        path (str): file or URL, as :func:`load_weights`.
        allow_partial (bool): as :func:`load_weights`. Default: False.
        hint (str|None): a line appended to a mismatch error. Default: None.

    Returns:
        str: the file loaded.
    """
    found = resolve_weights(path)
    state = read_state_dict(found)
    backbone = getattr(model, "backbone", None)
    mapper = getattr(backbone, "map_pretrained_keys", None)
    if mapper is not None and not any(k.startswith("backbone.") for k in state):
        load_state(backbone, mapper(state), found, allow_partial, hint)
        logger.info("loaded %s into the backbone (%s) only", found, type(backbone).__name__)
    else:
        load_state(model, state, found, allow_partial, hint)
    return found


def load_state(model, state, found, allow_partial=False, hint=None):
    """Put the name -> array dict ``state`` (read from ``found``) into ``model``; see :func:`load_weights`."""
    own = model.state_dict()
    missing, unexpected, mismatched = compare_state_dict(own, state)
    name = type(model).__name__
    if missing or unexpected or mismatched:
        message = describe_mismatch(found, name, len(own), missing, unexpected, mismatched)
        if not allow_partial:
            raise WeightsError(message + (f"\n{hint}" if hint else ""))
        bad = {m[0] for m in mismatched}
        if len(bad) + len(missing) == len(own):
            raise WeightsError(message + "\n  none of the model's tensors can be loaded from this file")
        logger.warning("partial weights (--allow_partial_weights): %d of %d tensors loaded, the others keep "
                       "their initialisation.\n%s", len(own) - len(bad) - len(missing), len(own),
                       message.split("\n", 1)[1])
    loadable = {k: _to_model_dtype(state[k], v) for k, v in own.items()
                if k in state and list(v.shape) == list(state[k].shape)}
    if len(loadable) == len(own):
        model.set_state_dict(loadable)
    else:  # partial: set the matching tensors one by one (set_state_dict warns once per absent key)
        for k, value in loadable.items():
            own[k].set_value(value)


def resume_checkpoint_base(path):
    """``<base>`` of a ``-r`` checkpoint after checking that ``<base>.pdparams`` and ``<base>.pdopt`` exist.

    Raises:
        WeightsNotFoundError: one line naming the missing file(s).
        WeightsError: a URL or a ``.safetensors`` file (weights only, no optimizer state).
    """
    path = os.fspath(path)
    if is_url(path):
        raise WeightsError(f"-r needs a local training checkpoint, not a URL: {path} "
                           "(to start from downloaded weights use -o pretrain_weights=<url>)")
    if path.endswith(".safetensors"):
        raise WeightsError(f"-r needs a training checkpoint (<name>.pdparams + <name>.pdopt); {path} holds weights "
                           "only: use -o pretrain_weights=<it> to start a new training from it")
    base = path
    for suffix in (".pdparams", ".pdopt"):
        if base.endswith(suffix):
            base = base[:-len(suffix)]
    absent = [f for f in (base + ".pdparams", base + ".pdopt") if not os.path.isfile(f)]
    if absent:
        raise WeightsNotFoundError(f"cannot resume: {' and '.join(absent)} not found "
                                   "(a checkpoint is <save_dir>/<config>/<epoch>.pdparams + .pdopt; pass -r without "
                                   "the suffix)")
    return base


def check_resume_checkpoint(model, path):
    """Check a ``-r`` checkpoint before ppdet's ``Trainer.resume_weights`` unpickles it.

    Both ``<base>.pdparams`` and ``<base>.pdopt`` must exist (without ``.pdopt`` ppdet would
    silently restart at epoch 0 with a fresh optimizer); the weights must fit ``model`` exactly;
    both files (and a ``.pdema``) must pass the restricted unpickler.

    Returns:
        str: ``<base>`` (the path without suffix, as ppdet expects).
    """
    base = resume_checkpoint_base(path)
    files = [base + ".pdparams", base + ".pdopt"]
    state = read_state_dict(files[0])
    own = model.state_dict()
    missing, unexpected, mismatched = compare_state_dict(own, state)
    if missing or unexpected or mismatched:
        raise WeightsError(describe_mismatch(files[0], type(model).__name__, len(own), missing, unexpected,
                                             mismatched))
    safe_unpickle(files[1])
    if os.path.isfile(base + ".pdema"):
        read_state_dict(base + ".pdema")
    return base


# ------------------------------------------------------------------------------------------------
# Conversion
# ------------------------------------------------------------------------------------------------
def convert_to_safetensors(src, dst, trust=False):
    """Write the tensors of ``src`` (``.pdparams``) to ``dst`` (``.safetensors``), atomically.

    ``src`` is read with the restricted unpickler; ``trust=True`` uses ``paddle.load`` instead (which
    can run code from the file: only for files you trust whose pickle uses other objects).

    Returns:
        int: the number of tensors written.
    """
    src, dst = os.fspath(src), os.fspath(dst)
    if not os.path.isfile(src):
        raise WeightsNotFoundError(f"weights not found: {src}")
    if trust:
        import paddle

        try:
            obj = paddle.load(src, return_numpy=True)
        except Exception as exc:
            raise WeightsError(f"{src}: paddle.load failed: {str(exc).strip()[:200]}") from None
        if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
            obj = obj["model"]
        state = {str(k): np.asarray(v) for k, v in obj.items() if k != _PARAM_NAME_TABLE}
    else:
        state = read_state_dict(src)
    bad = [k for k, v in state.items() if v.dtype.hasobject]
    if bad:
        raise WeightsError(f"{src}: {bad[0]} is not a numeric tensor")
    return save_safetensors(state, dst, {"converted_from": os.path.basename(src)})


def save_safetensors(state, dst, metadata=None):
    """Write the name -> numpy array dict ``state`` to the ``.safetensors`` file ``dst``, atomically.

    Returns:
        int: the number of tensors written.
    """
    from safetensors.numpy import save_file

    state = {k: np.ascontiguousarray(v) for k, v in state.items()}
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        save_file(state, tmp, metadata={**(metadata or {}), "by": "ppdet_face"})
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return len(state)


def build_model(cfg, allow_random_weights=False, seed=0, random_flag="--allow_random_weights"):
    """The config's architecture in eval mode with its ``weights`` loaded (strictly).

    Args:
        cfg (dict): a loaded config (``architecture``, ``weights``).
        allow_random_weights (bool): without weights, use seeded random calibrated weights
            (:func:`ppdet_face.export.init_random_weights`; for tests and speed measurements). Default: False.
        seed (int): seed of the random weights. Default: 0.
        random_flag (str): the calling tool's option for random weights, named in the missing-weights
            error. Default: "--allow_random_weights".

    Returns:
        tuple: ``(model, random_note)``: ``random_note`` is None, or the one-line warning to show when
        random weights were used.

    Raises:
        WeightsNotFoundError: no weights file (the message says how to give one).
        WeightsError: weights that cannot be read or do not fit the model.
    """
    from ppdet.core.workspace import create

    from ..data.preprocess import normalization
    from ..export import init_random_weights

    model = create(cfg.architecture)
    model.eval()
    try:
        logger.info("loaded weights %s", load_weights(model, cfg.get("weights")))
        return model, None
    except WeightsNotFoundError as exc:
        if not allow_random_weights:
            raise WeightsNotFoundError(f"{exc} (pass -o weights=<path/model_final>, or {random_flag})") from None
        init_random_weights(model, seed=seed, normalization=normalization(cfg, "TestReader"))
        return model, (f"{exc}: SEEDED RANDOM weights (seed {seed}) -- for tests and speed measurements only, "
                       "the detections mean nothing")
