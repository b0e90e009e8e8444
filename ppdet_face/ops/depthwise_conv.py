"""Fast CPU depthwise conv2d for training (a Paddle custom C++ operator).

Paddle's CPU kernel for grouped convolutions does im2col + a GEMM per group on a single
thread, which makes the 5x5 depthwise convs of BlazeNet dominate a training step. The
custom operator in ``csrc/depthwise_conv.cc`` computes forward, input gradient and weight
gradient with vectorised row loops, parallel over (image, channel) planes with OpenMP.

The extension is compiled just-in-time on first use (one line is printed while it
compiles, ~30 s) and cached under ``<repo>/build/ppdet_face_ops/<hash>/`` (or
``$PPDET_FACE_OPS_BUILD_DIR``); the hash covers the source, the compiler flags and the
Paddle/Python versions, so a changed source or another CPU type triggers a rebuild.
If no C++ compiler is found or the build fails, :func:`depthwise_conv2d` falls back to
``F.conv2d(..., groups=C)`` after one warning.

Only use it for training: an exported inference model must not contain the custom op
(``ConvBN`` calls it only when ``self.training``).

Environment:
    PPDET_FACE_DISABLE_CUSTOM_OPS=1: never build/load the extension (always fall back).
    PPDET_FACE_OPS_THREADS=N: OpenMP threads of the op (default: the OMP_NUM_THREADS the
        process was started with, else the CPUs this process may run on divided by the
        data-parallel processes on this node). See also :func:`set_num_threads`.
    PPDET_FACE_OPS_BUILD_DIR=DIR: cache directory of the compiled extension.
"""
import contextlib
import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import threading
import warnings

import paddle
import paddle.nn.functional as F

__all__ = ["depthwise_conv2d", "is_available", "is_supported", "set_num_threads", "get_num_threads",
           "build_flags", "load_extension", "CustomOpUnavailableWarning"]

_OP_NAME = "ppdet_depthwise_conv2d"
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc", "depthwise_conv.cc")
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_lock = threading.Lock()
_state = {"module": None, "tried": False, "error": None, "warned": False}
_num_threads = [None]


def _cpu_flags():
    """The ``flags`` of the first CPU in /proc/cpuinfo (empty set if unreadable)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def build_flags():
    """C++ flags for the extension: -O3 + OpenMP, plus AVX2/FMA if this CPU has both."""
    flags = ["-O3", "-fopenmp", "-std=c++17"]
    if sys.platform.startswith("linux") and {"avx2", "fma"} <= _cpu_flags():
        flags += ["-mavx2", "-mfma"]
    return flags


def _build_root():
    env = os.environ.get("PPDET_FACE_OPS_BUILD_DIR")
    if env:
        return os.path.abspath(env)
    if os.path.isfile(os.path.join(_REPO_ROOT, "pyproject.toml")) and os.access(_REPO_ROOT, os.W_OK):
        return os.path.join(_REPO_ROOT, "build", "ppdet_face_ops")
    from paddle.utils.cpp_extension import get_build_directory

    return os.path.join(get_build_directory(), "ppdet_face_ops")


def _cache_key(flags):
    h = hashlib.sha256()
    with open(_SOURCE, "rb") as f:
        h.update(f.read())
    h.update(" ".join(flags).encode())
    h.update(paddle.__version__.encode())
    h.update(paddle.version.commit.encode() if hasattr(paddle.version, "commit") else b"")
    h.update(sys.version.encode())
    return h.hexdigest()[:12]


def _find_compiler():
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@contextlib.contextmanager
def _quiet_paddle_logs():
    """Silence paddle.utils.cpp_extension's INFO logs, stdout prints and ABI warnings."""
    logger = logging.getLogger("utils.cpp_extension")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _import_built(name, build_dir):
    with _quiet_paddle_logs():
        from paddle.utils.cpp_extension.extension_utils import _import_module_from_library

        return _import_module_from_library(name, os.path.join(build_dir, name), False)


def _compile(name, build_dir, flags):
    """Compile the extension in a subprocess; the compiler output is shown only on failure."""
    setup_py = os.path.join(build_dir, f"{name}_setup.py")
    with _quiet_paddle_logs():
        from paddle.utils.cpp_extension.extension_utils import _write_setup_file

        _write_setup_file(name, [_SOURCE], setup_py, os.path.join(build_dir, name), None, None, flags, [],
                          ["-fopenmp"], False)
    proc = subprocess.run([sys.executable, setup_py, "build"], cwd=build_dir, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"compilation failed:\n{tail}")


def _prune_stale_builds(current):
    """Delete builds of older sources/flags next to ``current`` (best effort)."""
    root = os.path.dirname(current)
    for entry in os.listdir(root):
        path = os.path.join(root, entry)
        if path != current and os.path.isdir(path) and len(entry) == 12:
            shutil.rmtree(path, ignore_errors=True)


def load_extension():
    """Build (once, cached on disk) and load the extension; returns the module or None.

    Never raises: on failure the reason is kept and :func:`depthwise_conv2d` warns once
    and falls back to ``F.conv2d``.
    """
    with _lock:
        if _state["tried"]:
            return _state["module"]
        _state["tried"] = True
        if os.environ.get("PPDET_FACE_DISABLE_CUSTOM_OPS", "") not in ("", "0"):
            _state["error"] = "disabled by PPDET_FACE_DISABLE_CUSTOM_OPS"
            return None
        try:
            flags = build_flags()
            key = _cache_key(flags)
            name = f"ppdet_face_dwconv_{key}"
            build_dir = os.path.join(_build_root(), key)
            so_path = os.path.join(build_dir, name, name + ".so")
            os.makedirs(build_dir, exist_ok=True)
            # A file lock makes concurrent processes (e.g. data-parallel workers) build only once.
            import fcntl

            with open(os.path.join(build_dir, ".lock"), "w") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    if os.path.isfile(so_path):
                        module = _import_built(name, build_dir)
                    else:
                        if _find_compiler() is None:
                            raise RuntimeError("no C++ compiler found (c++/g++/clang++ not on PATH)")
                        print(f"ppdet_face.ops: compiling the depthwise_conv2d extension into {build_dir} "
                              "(one-off, ~30 s)", file=sys.stderr, flush=True)
                        _compile(name, build_dir, flags)
                        module = _import_built(name, build_dir)
                        _prune_stale_builds(build_dir)
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)
            _state["module"] = module
        except Exception as e:  # compiler missing, build error, incompatible Paddle ...
            _state["error"] = f"{type(e).__name__}: {e}"
            _state["module"] = None
        return _state["module"]


def is_available():
    """True if the custom operator is (or can be) compiled and loaded."""
    return load_extension() is not None


def set_num_threads(n):
    """OpenMP threads used by the op (``None`` or 0: the default, see module docstring)."""
    if n is not None and int(n) < 0:
        raise ValueError(f"num_threads must be >= 0, got {n}")
    _num_threads[0] = None if not n else int(n)


def _initial_env(name):
    """``name`` from the environment the process started with.

    ``import paddle`` overwrites OMP_NUM_THREADS with "1" when it is unset, so the current
    ``os.environ`` cannot tell a user's explicit setting from Paddle's default.
    """
    try:
        with open("/proc/self/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                key, _, value = item.partition(b"=")
                if key.decode(errors="replace") == name:
                    return value.decode(errors="replace")
        return None
    except OSError:
        return os.environ.get(name)


def get_num_threads():
    """Threads the op will use: :func:`set_num_threads`, else $PPDET_FACE_OPS_THREADS, else an
    OMP_NUM_THREADS the process was started with, else the CPUs this process may use divided
    by the processes ``paddle.distributed.launch`` started on this node."""
    if _num_threads[0]:
        return _num_threads[0]
    for value in (os.environ.get("PPDET_FACE_OPS_THREADS"), _initial_env("OMP_NUM_THREADS")):
        value = (value or "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    local = os.environ.get("PADDLE_LOCAL_SIZE", "").strip()
    local = int(local) if local.isdigit() and int(local) > 0 else 1
    return max(1, cpus // local)


def _pair(v):
    """The single int of a symmetric stride/padding spec, else None (asymmetric, "SAME", ...)."""
    try:
        if isinstance(v, (list, tuple)):
            values = {int(e) for e in v}  # [s], [s, s] or [p, p, p, p]; nested lists raise TypeError
            return values.pop() if len(values) == 1 and len(v) in (1, 2, 4) else None
        return None if isinstance(v, str) else int(v)
    except (TypeError, ValueError):
        return None


def is_supported(x, weight, stride=1, padding=0):
    """Whether the custom op handles this call (else :func:`depthwise_conv2d` uses F.conv2d)."""
    s, p = _pair(stride), _pair(padding)
    if s is None or p is None or len(x.shape) != 4 or len(weight.shape) != 4:
        return False
    c, one, kh, kw = weight.shape
    return (x.dtype == paddle.float32 and weight.dtype == paddle.float32 and x.place.is_cpu_place()
            and one == 1 and x.shape[1] == c and kh == kw and kh in (3, 5) and s in (1, 2)
            and 0 <= p <= kh - 1 and paddle.in_dynamic_mode())


class CustomOpUnavailableWarning(RuntimeWarning):
    """The custom operator could not be built/loaded; F.conv2d is used instead."""


def _warn_fallback():
    if _state["error"] and _state["error"].startswith("disabled by"):
        return  # the user asked for the fallback
    if not _state["warned"]:
        _state["warned"] = True
        # ppdet's MOT modules install a global "ignore all warnings" filter on import, which would
        # hide this one-off message; show it regardless (it is emitted once per process).
        with warnings.catch_warnings():
            warnings.simplefilter("always", CustomOpUnavailableWarning)
            warnings.warn(f"ppdet_face.ops.depthwise_conv2d: custom CPU operator unavailable ({_state['error']}); "
                          "falling back to F.conv2d(groups=C), which is much slower for training on CPU.",
                          CustomOpUnavailableWarning, stacklevel=3)


def depthwise_conv2d(x, weight, stride=1, padding=0):
    """Depthwise conv2d (``groups == C``, no bias), NCHW float32, same result as
    ``F.conv2d(x, weight, stride=stride, padding=padding, groups=C)``.

    Args:
        x (Tensor): [N, C, H, W] float32.
        weight (Tensor): [C, 1, K, K] with K in {3, 5}.
        stride (int|tuple): 1 or 2 (equal in both directions).
        padding (int|tuple): symmetric padding in [0, K - 1].

    Calls outside that envelope (other dtypes/devices/kernels, static graph) and a missing
    extension go to ``F.conv2d``; only the latter warns (once).
    """
    if is_supported(x, weight, stride, padding):
        module = load_extension()
        if module is not None:
            op = getattr(module, _OP_NAME)
            return op(x, weight, _pair(stride), _pair(padding), get_num_threads())
        _warn_fallback()
    return F.conv2d(x, weight, stride=stride, padding=padding, groups=x.shape[1])
