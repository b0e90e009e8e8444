"""deploy/python/memory.py: glibc malloc tuning (no page faults per run) and the heap guard."""
import os

import pytest

from helpers import blob_images


def test_cpu_predictor_keeps_freed_memory_mapped_so_runs_do_not_page_fault(fixed_export):
    """glibc would mmap/munmap every large activation buffer: thousands of page faults per run."""
    import platform
    import resource

    from ppdet_face_deploy.detector import Detector
    from ppdet_face_deploy.memory import keep_freed_memory_in_heap

    if platform.libc_ver()[0] != "glibc" or any(k in os.environ for k in ("MALLOC_MMAP_MAX_",
                                                                           "MALLOC_TRIM_THRESHOLD_")):
        pytest.skip("glibc malloc tuning not applicable here")
    _, save_dir = fixed_export
    det = Detector(save_dir, enable_mkldnn=True, cpu_threads=2)  # fixed 320 x 320: tuned by default ("auto")
    assert det.malloc_tuned and keep_freed_memory_in_heap() is True
    img = blob_images(sizes=[(320, 320)])[0]
    for _ in range(10):  # steady state: the first runs still grow the heap now and then (~500 faults)
        det.predict([img])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        det.predict([img])
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
    assert faults < 200, f"{faults:.0f} page faults per 320x320 run"  # ~2,000+ without the tuning


def test_heap_guard_trims_only_when_free_heap_outgrows_its_budget_after_a_shape_change():
    from ppdet_face_deploy.memory import HeapGuard

    guard = HeapGuard(budget_mb=100)
    if guard.libc is None:
        pytest.skip("not glibc: the guard is a no-op")
    trims = []
    slack = {"mb": 50}
    guard.libc = type("Libc", (), {"malloc_trim": staticmethod(lambda pad: trims.append(pad))})()
    guard._slack = lambda: slack["mb"] * 2 ** 20
    guard((1, 3, 320, 320))            # first run: the baseline (50 MiB free in the heap)
    slack["mb"] = 200
    guard((1, 3, 320, 320))            # same shape: not even measured
    assert trims == []
    slack["mb"] = 140
    guard((1, 3, 480, 320))            # new shape, +90 MiB: within the budget
    assert trims == []
    slack["mb"] = 160
    guard((1, 3, 320, 480))            # new shape, +110 MiB: trimmed
    assert trims == [0] and guard.trims == 1
    slack["mb"] = 20
    guard((1, 3, 640, 640))            # less than the baseline: the new baseline
    slack["mb"] = 110
    guard((1, 3, 320, 320))
    assert trims == [0] and guard.base == 20 * 2 ** 20


def test_heap_guard_reads_real_heap_figures():
    from ppdet_face_deploy.memory import HeapGuard

    guard = HeapGuard()
    if guard.libc is None:
        pytest.skip("not glibc: the guard is a no-op")
    slack = guard._slack()
    assert isinstance(slack, int) and abs(slack) < 64 * 2 ** 30  # RSS minus malloc's in-use bytes, sane
