"""benchmarks/landmark_speed.py: the ratio table and its verdict against the 1.1x target."""
from benchmarks.landmark_speed import RUNTIMES, TARGET_RATIO, table


def test_table_ratio_and_verdict_per_runtime():
    times = {}
    for i, (runtime, *_) in enumerate(RUNTIMES):
        times[(runtime, "boxes")] = ([5.0] * 3, [10.0, 10.0, 11.0], [])
        ratio = TARGET_RATIO - 0.05 if i % 2 == 0 else TARGET_RATIO + 0.05
        times[(runtime, "landmarks")] = ([6.0] * 3, [10.0 * ratio] * 3, [])
    lines = table(times).splitlines()[2:]
    assert len(lines) == len(RUNTIMES)
    assert lines[0].endswith(f"| {TARGET_RATIO - 0.05:.3f}x | 5.0 / 6.0 | MET |")
    assert lines[1].endswith(f"| {TARGET_RATIO + 0.05:.3f}x | 5.0 / 6.0 | NOT MET |")
