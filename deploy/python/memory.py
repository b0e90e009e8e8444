"""Process memory of the predictor: glibc malloc tuning, the heap guard, peak RSS.

Everything here is a no-op off Linux/glibc.
"""
import os
import sys

__all__ = ["HeapGuard", "keep_freed_memory_in_heap", "peak_rss_mb", "process_memory_mb"]

#: glibc ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4
_MALLOC_STATE = {"tuned": None}


def keep_freed_memory_in_heap(trim_threshold_mb=1024, top_pad_mb=0):
    """Make glibc serve large blocks from the heap and keep freed memory (once per process: the first call's
    settings stay). The one heap setting of the project: the predictor and training (tools/train.py) call it.

    Paddle Inference allocates every intermediate tensor of every run afresh. With glibc's
    defaults large blocks come from ``mmap`` (returned by ``munmap``) and the heap top is trimmed
    back to the OS, so each 640x640 run page-faults its activations in again: ~3,000-7,000 minor
    faults per run, ~5 ms of a ~45 ms single-thread run and more with 2 threads (the faults also
    hit the preprocessing buffers of either backend). ``mallopt(M_MMAP_MAX, 0)`` and a 1 GiB
    ``M_TRIM_THRESHOLD`` (the runtime form of ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=...``)
    keep those pages mapped and reused: ~0 faults per run, RSS stays at the high-water mark of
    the largest run so far (which is why :class:`detector.Detector` applies it by default to
    fixed-shape exports only). Training keeps one step's activations the same way (each large activation
    would otherwise be page-faulted and zero-filled again at every op). Skipped when the user set either
    environment variable, or off glibc. Process-wide and permanent.

    Args:
        trim_threshold_mb (int): free memory at the heap top (MiB) above which glibc gives it back. Default: 1024.
        top_pad_mb (int): extra heap (MiB) requested from the OS with each heap growth; 0 keeps glibc's.
            Default: 0.

    Returns:
        bool: True when applied (now or before).
    """
    if _MALLOC_STATE["tuned"] is not None:
        return _MALLOC_STATE["tuned"]
    ok = False
    libc = None if any(k in os.environ for k in ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_")) else _glibc()
    if libc is not None:
        ok = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold_mb) << 20))
        if top_pad_mb:
            ok = bool(libc.mallopt(_M_TOP_PAD, int(top_pad_mb) << 20)) and ok
    _MALLOC_STATE["tuned"] = ok
    return ok


def _glibc():
    """A ctypes handle on glibc's libc.so.6, or None (not Linux / not glibc)."""
    try:
        import ctypes
        import platform

        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            return ctypes.CDLL("libc.so.6")
    except (OSError, ValueError):
        pass
    return None


class HeapGuard:
    """Give glibc's free heap pages back to the OS when they pile up (images of varied sizes).

    Every run frees its buffers; when the next input has another shape they seldom fit the
    holes, so glibc's heaps fragment and RSS climbs to a plateau far above what is in use
    (benchmarks/deploy_soak.py, batch 4, 160-800 px images: in use ~160 MiB throughout, RSS
    800 -> 1,040 MiB with the default allocator, 1,550 -> 1,750 MiB with
    :func:`keep_freed_memory_in_heap`). After a run whose input shape differs from the previous
    one, if resident memory not in use by malloc has grown by more than ``budget_mb`` since the
    first run, ``malloc_trim(0)`` returns the free pages (~20 ms for a ~700 MiB heap, hence the
    budget). Same-shape runs cost one tuple comparison. No-op off glibc.

    Args:
        budget_mb (int): growth of the free heap (MiB) that triggers a trim. Default: 256.
    """

    def __init__(self, budget_mb=256):
        self.budget = budget_mb * 2 ** 20
        self.last_shape, self.base = None, None
        self.trims = 0
        self.libc = _glibc()
        if self.libc is not None and not hasattr(self.libc, "mallinfo2"):  # glibc < 2.33
            self.libc = None
        if self.libc is not None:
            import ctypes

            class MallInfo2(ctypes.Structure):
                _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                           "fsmblks", "uordblks", "fordblks", "keepcost")]

            self.libc.mallinfo2.restype = MallInfo2
            self.libc.malloc_trim.argtypes = [ctypes.c_size_t]
            self.page = os.sysconf("SC_PAGE_SIZE")

    def _slack(self):
        """Resident bytes not in use by malloc (RSS minus malloc's in-use bytes)."""
        with open("/proc/self/statm", "r", encoding="ascii") as f:
            rss = int(f.read().split()[1]) * self.page
        info = self.libc.mallinfo2()
        return rss - (info.uordblks + info.hblkhd)

    def __call__(self, shape):
        """Note a run on an input of ``shape``; trim the heap if the free part outgrew the budget."""
        if self.libc is None or shape == self.last_shape:
            return
        self.last_shape = shape
        slack = self._slack()
        if self.base is None or slack < self.base:  # the first run, or a new low
            self.base = slack
        elif slack - self.base > self.budget:
            self.libc.malloc_trim(0)
            self.trims += 1


def process_memory_mb(pid="self", proc="/proc"):
    """Resident memory of a process from ``<proc>/<pid>/status``, in MiB.

    Args:
        pid (int|str): the process. Default: "self".
        proc (str): the proc file system. Default: "/proc".

    Returns:
        tuple|None: ``(VmRSS, VmHWM)`` (current and peak; NaN for a field the file lacks), or None when the
        process has exited or there is no such file (not Linux).
    """
    try:
        with open(os.path.join(proc, str(pid), "status"), encoding="ascii") as f:
            fields = dict(line.split(":", 1) for line in f if ":" in line)
    except (FileNotFoundError, ProcessLookupError):
        return None
    values = []
    for key in ("VmRSS", "VmHWM"):
        parts = fields.get(key, "").split()
        values.append(int(parts[0]) / 1024.0 if parts else float("nan"))
    return tuple(values)


def peak_rss_mb(proc="/proc"):
    """Peak resident memory of this process (MiB): ``VmHWM`` (reset by ``exec``, unlike ``ru_maxrss``, which a
    child started with fork + exec inherits from its parent), else ``ru_maxrss``, else NaN."""
    memory = process_memory_mb("self", proc)
    if memory is not None and memory[1] == memory[1]:  # not NaN
        return memory[1]
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    except (ImportError, OSError):
        return float("nan")
