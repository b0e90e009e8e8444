"""``--run_benchmark``: stage times, QPS and peak memory over decoded images."""
import json
import os
import sys

from .memory import peak_rss_mb
from .preprocess import DeployError, decode_image
from .timing import StageTimer

__all__ = ["run_benchmark"]


def run_benchmark(detector, files, warmup=10, repeats=50, json_path=None):
    """Time preprocess / inference / postprocess over the images (decoded once, decode excluded).

    Args:
        detector (Detector): the predictor (its timer is reset after the warm-up).
        files (list[str]): image paths; unreadable ones are reported and counted as failures.
        warmup (int): untimed batches first. Default: 10.
        repeats (int): timed batches (at least 1), cycling over the images. Default: 50.
        json_path (str|None): also write the summary here. Default: None.

    Returns:
        dict: per stage mean / p50 / p90 / p99 / min ms per batch, QPS (images/s), peak RSS (MiB).

    Raises:
        DeployError: no image could be read.
    """
    images, failures = [], 0
    for path in files:
        try:
            images.append(decode_image(path))
        except DeployError as exc:
            failures += 1
            print(f"error: {exc}", file=sys.stderr)
    if not images:
        raise DeployError("no readable image to benchmark")
    batches = [images[i:i + detector.batch_size] for i in range(0, len(images), detector.batch_size)]
    for i in range(max(0, warmup)):
        detector.predict(batches[i % len(batches)])
    detector.timer.reset()
    for i in range(max(1, repeats)):
        detector.predict(batches[i % len(batches)])
    summary = detector.timer.summary()
    summary.update({"backend": detector.backend, "batch_size": detector.batch_size, "warmup": warmup,
                    "repeats": repeats, "model_dir": detector.model_dir, "peak_rss_mb": peak_rss_mb(),
                    "input_shapes": sorted({f"{im.shape[0]}x{im.shape[1]}" for im in images}),
                    "failures": failures})
    _print_summary(summary, len(images))
    if json_path:
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
        print(f"benchmark saved to {json_path}")
    return summary


def _print_summary(summary, num_images):
    print(f"benchmark: {summary['backend']}, batch {summary['batch_size']}, {summary['warmup']} warm-up + "
          f"{summary['repeats']} timed runs over {num_images} images ({', '.join(summary['input_shapes'][:4])}); "
          "ms per batch, decode excluded")
    print(f"{'stage':<12} {'mean':>8} {'p50':>8} {'p90':>8} {'p99':>8}")
    for stage in StageTimer.STAGES + ("end_to_end",):
        s = summary[stage]
        print(f"{stage:<12} {s['mean']:8.2f} {s['p50']:8.2f} {s['p90']:8.2f} {s['p99']:8.2f}")
    print(f"QPS {summary['qps']:.1f} images/s, peak RSS {summary['peak_rss_mb']:.0f} MiB")
