"""Keep large CPU tensors' memory in the process (glibc ``mallopt``) for faster training.

Paddle's CPU allocator takes every tensor from ``malloc``. glibc serves blocks larger than
its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and returns them with ``munmap``
on free, so each large activation (8 x 24 x 320 x 320 float32 = 79 MB in BlazeFace at
640 x 640, batch 8) is page-faulted and zero-filled by the kernel again at every op. On
the 2-core test machine that doubled the time of memory-bound ops (add, scale, batch
norm) and cost ~1 s of a ~4 s BlazeFace training step.

:func:`keep_freed_memory` turns off mmap-backed allocations and heap trimming, so freed
activations are reused by the next step without page faults. The price is that the
process keeps its peak heap (resident memory grows by roughly one step's worth of
activations, ~1 GB at batch 8 / 640 px). The same effect without code:
``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=17179869184`` in the environment.
"""
import ctypes
import ctypes.util
import sys

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4


def keep_freed_memory(top_pad_mb=64):
    """Make glibc keep freed memory for reuse instead of unmapping it (process-wide).

    Call it once at the start of a training process (it does not move memory that is
    already allocated).

    Args:
        top_pad_mb (int): extra heap (MiB) glibc requests from the OS with each heap growth.
            Default: 64.

    Returns:
        bool: True if applied, False if not on Linux/glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_MAX, 0) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, 2**31 - 1) == 1 and ok
    ok = mallopt(_M_TOP_PAD, int(top_pad_mb) << 20) == 1 and ok
    return ok
