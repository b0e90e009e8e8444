"""Predictor soak: many images of varied sizes through deploy/python/infer.py, RSS sampled from /proc.

    python -m benchmarks.deploy_soak [--num_images 2000] [--min_size 160] [--max_size 800]
        [--batch_sizes 1 4] [--threads 2] [--model_dir exported_folder] [--json soak.json]

Writes --num_images generated JPEGs (each side drawn from [--min_size, --max_size], smooth colours
with face-like ellipses) to a temporary folder, exports our model with dynamic H x W (seeded
random weights) unless --model_dir is given, then for each batch size runs

    deploy/python/infer.py --model_dir M --image_dir D --batch_size B --save_results
        --save_images False --enable_mkldnn True --cpu_threads T

as a subprocess and samples its resident set size (VmRSS, and VmHWM for the peak, from
/proc/<pid>/status; psutil is not needed) every --interval seconds, following the progress bar
on its stderr. Reported per batch size: RSS after the first 100 images ("start"), at the end of
the run, the peak, and whether end vs start grew by less than 10% (a report, not an assertion;
the exit code is the predictor's). Every image is padded into a batch of its own size mix, so
the oneDNN cache (capacity 1 shape) and the allocator see a new shape most calls.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import cv2
import numpy as np

from benchmarks.harness import machine_line, markdown_table
from ppdet_face_deploy.memory import process_memory_mb

REPO = pathlib.Path(__file__).resolve().parents[1]

INFER = REPO / "deploy" / "python" / "infer.py"
GROWTH_LIMIT = 0.10
START_AFTER = 100


def make_images(folder, num, min_size, max_size, seed=0):
    """``num`` JPEGs, sides uniform in [min_size, max_size]; returns the list of (h, w)."""
    rng = np.random.RandomState(seed)
    sizes = []
    for i in range(num):
        h, w = (int(v) for v in rng.randint(min_size, max_size + 1, 2))
        small = (rng.rand(max(2, h // 24), max(2, w // 24), 3) * 255).astype(np.uint8)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        for _ in range(int(rng.randint(1, 6))):
            r = int(rng.randint(6, max(7, min(h, w) // 5)))
            center = (int(rng.randint(r, w - r)), int(rng.randint(r, h - r)))
            cv2.ellipse(img, center, (r, int(r * 1.3)), 0, 0, 360, tuple(int(c) for c in rng.randint(80, 230, 3)), -1)
        cv2.imwrite(os.path.join(folder, f"img{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        sizes.append((h, w))
    return sizes


def export_dynamic(out_dir):
    """Our model, dynamic H x W, seeded random weights (speed and memory only)."""
    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import build_model
    from ppdet_face.export import export_model

    cfg = load_config(str(REPO / "configs" / "face_detection" / "blazeface_fpn_ssh_1000e.yml"))
    cfg["weights"] = None
    model, _ = build_model(cfg, allow_random_weights=True)
    return export_model(model, cfg, out_dir, fmt="paddle", random_weights=True)


def soak(model_dir, image_dir, out_dir, batch_size, threads, total, interval=0.2, extra_args=()):
    """Run the predictor CLI once; returns the RSS report (MiB) and the exit code."""
    cmd = [sys.executable, str(INFER), "--model_dir", model_dir, "--image_dir", image_dir, "--batch_size",
           str(batch_size), "--save_results", "--save_images", "False", "--enable_mkldnn", "True", "--cpu_threads",
           str(threads), "--output_dir", out_dir] + list(extra_args)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(REPO))
    progress = {"n": 0}
    err_tail = []

    def follow_stderr():  # tqdm redraws "images:  12%|...| 240/2000 ..." with \r
        buf = ""
        while True:
            chunk = proc.stderr.read(256)
            if not chunk:
                break
            buf = (buf + chunk)[-4096:]
            found = re.findall(r"(\d+)/(\d+) \[", buf)
            if found:
                progress["n"] = max(progress["n"], int(found[-1][0]))
        err_tail.append(buf[-2000:])

    reader = threading.Thread(target=follow_stderr, daemon=True)
    reader.start()
    samples = []  # (seconds, images done, rss, hwm)
    start = None
    while proc.poll() is None:
        status = process_memory_mb(proc.pid)
        if status is not None and np.isfinite(status[0]) and np.isfinite(status[1]):  # not yet a zombie
            samples.append((time.perf_counter() - t0, progress["n"], status[0], status[1]))
            if start is None and progress["n"] >= START_AFTER:
                start = samples[-1]
        time.sleep(interval)
    stdout = proc.stdout.read()
    reader.join(timeout=5)
    seconds = time.perf_counter() - t0
    if not samples:
        raise RuntimeError(f"predictor exited before the first sample: {''.join(err_tail)[-1500:]}")
    end = samples[-1]
    start = start or samples[0]
    peak_rss = max(s[2] for s in samples)
    peak_hwm = max(s[3] for s in samples)
    growth = (end[2] - start[2]) / start[2] if start[2] else float("nan")
    quarters = {}
    for q in (0.25, 0.5, 0.75, 1.0):  # RSS when the run had done q of the images (first sample at or after)
        hit = next((smp for smp in samples if smp[1] >= q * total * 0.99), samples[-1])
        quarters[f"{int(q * 100)}%"] = round(hit[2], 1)
    return {"batch_size": batch_size, "exit_code": proc.returncode, "seconds": seconds,
            "images_per_s": total / seconds if seconds else 0.0,
            "start": {"images": start[1], "rss_mb": start[2]}, "end": {"images": end[1], "rss_mb": end[2]},
            "peak_rss_sampled_mb": peak_rss, "peak_rss_hwm_mb": peak_hwm, "growth": growth,
            "growth_below_limit": bool(growth < GROWTH_LIMIT), "samples": len(samples), "rss_at": quarters,
            "trace": [[round(t, 2), n, round(r, 1)] for t, n, r, _ in samples],
            "last_stdout_line": (stdout.strip().splitlines() or [""])[-1],
            "stderr_tail": "" if proc.returncode == 0 else "".join(err_tail)[-1500:]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num_images", type=int, default=2000)
    parser.add_argument("--min_size", type=int, default=160)
    parser.add_argument("--max_size", type=int, default=800)
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model_dir", default=None, help="exported folder (default: export ours, dynamic shape)")
    parser.add_argument("--interval", type=float, default=0.2, help="RSS sampling period (s)")
    parser.add_argument("--predictor_args", default="", help="extra infer.py flags, e.g. '--malloc_tuning True'")
    parser.add_argument("--json", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    if args.num_images <= START_AFTER:
        parser.error(f"--num_images must be > {START_AFTER} (RSS is compared from image {START_AFTER} on)")
    if not 16 <= args.min_size <= args.max_size:
        parser.error("need 16 <= --min_size <= --max_size")
    tmp = tempfile.mkdtemp(prefix="deploy_soak_")
    reports = []
    try:
        image_dir = os.path.join(tmp, "images")
        os.makedirs(image_dir)
        t = time.perf_counter()
        sizes = make_images(image_dir, args.num_images, args.min_size, args.max_size)
        areas = np.array([h * w for h, w in sizes], np.float64)
        print(f"{args.num_images} images written to {image_dir} in {time.perf_counter() - t:.0f} s "
              f"(sides {args.min_size}-{args.max_size} px, median {np.median(np.sqrt(areas)):.0f} px)")
        model_dir = args.model_dir or export_dynamic(os.path.join(tmp, "model"))
        print(f"model: {model_dir}")
        for bs in args.batch_sizes:
            rep = soak(model_dir, image_dir, os.path.join(tmp, f"out_bs{bs}"), bs, args.threads, args.num_images,
                       args.interval, args.predictor_args.split())
            reports.append(rep)
            print(f"batch {bs}: exit {rep['exit_code']}, {rep['seconds']:.0f} s ({rep['images_per_s']:.1f} images/s), "
                  f"{rep['last_stdout_line']}")
            if rep["stderr_tail"]:
                print(rep["stderr_tail"], file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nPredictor RSS (MiB), {args.num_images} images, {args.threads} threads, oneDNN"
          f"{' ' + args.predictor_args if args.predictor_args else ''}; start = after the first {START_AFTER} images\n")
    print(machine_line())
    print(markdown_table(
        ["batch", "start (images done)", "end (images done)", "peak (sampled / VmHWM)", "growth end vs start",
         f"< {GROWTH_LIMIT:.0%}", "RSS at 25 / 50 / 75 / 100% of the images"],
        [[r["batch_size"], f"{r['start']['rss_mb']:.0f} ({r['start']['images']})",
          f"{r['end']['rss_mb']:.0f} ({r['end']['images']})",
          f"{r['peak_rss_sampled_mb']:.0f} / {r['peak_rss_hwm_mb']:.0f}", f"{r['growth']:+.1%}",
          "yes" if r["growth_below_limit"] else "NO", " / ".join(f"{v:.0f}" for v in r["rss_at"].values())]
         for r in reports], align="rrrrrll"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"num_images": args.num_images, "threads": args.threads, "reports": reports}, f, indent=1)
    return 0 if all(r["exit_code"] == 0 for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
