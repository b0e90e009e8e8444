"""Keep large CPU tensors' memory in the process for faster training (the heap setting of
``ppdet_face_deploy.memory.keep_freed_memory_in_heap``, with training's sizes).

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
from ppdet_face_deploy.memory import keep_freed_memory_in_heap

__all__ = ["keep_freed_memory"]


def keep_freed_memory(top_pad_mb=64):
    """Make glibc keep freed memory for reuse instead of unmapping it (process-wide, once).

    Call it once at the start of a training process (it does not move memory that is
    already allocated).

    Args:
        top_pad_mb (int): extra heap (MiB) glibc requests from the OS with each heap growth.
            Default: 64.

    Returns:
        bool: True if applied, False if not on Linux/glibc (or the environment sets glibc's variables).
    """
    return keep_freed_memory_in_heap(trim_threshold_mb=2047, top_pad_mb=top_pad_mb)
