#!/usr/bin/env python
"""WIDER FACE on the 200 real val images: ours (single- and multi-scale) and every pretrained peer.

    python -m benchmarks.wider_real [-c configs/face_detection/blazeface_fpn_ssh_1000e.yml]
        [--weights pretrained/blazeface_fpn_ssh_1000e.safetensors | --random_weights]
        [--models blazeface_fpn_ssh_1000e,blazeface_1000e,...]
        [--rows ours_ss,ours_ms,deploy_ort,yunet,...] [--limit N] [--threads 2] [--calib_images 100]
        [--out_dir output/wider_real]
        [--json out.json] [--markdown out.md] [--plot out.png]

One table: per detector the easy / medium / hard AP (``eval_tools.evaluate_widerface``, official
protocol, on the ground truth and difficulty file of ``<shared>/data/wider_face_real``), the
published full-val APs beside it (``<shared>/README.md``'s peer table), the seconds per image
(mean and max, and on the most crowded image of the set) and the peak RSS of the process that ran
the row. Then one PNG with the precision-recall curves of all rows (one panel per setting).

Each row runs in its own child process (``ru_maxrss`` of that process is the row's peak RSS; no
row sees another's memory or threads), image by image, with ``--threads`` threads:

* **ours** (``ours_ss``, ``ours_ms``): the config's model with ``--weights``, through the public API
  of ``tools/eval.py`` (``WiderFacePredictor.from_config``, ``list_wider_images``,
  ``predict_widerface``): single-scale (original size) and the published multi-scale recipe.
  ``--random_weights`` uses seeded, calibrated random weights instead (speed and memory are real,
  the AP is meaningless; the table says so). ``--models a,b`` runs these rows once per bundled model
  (``ppdet_face.pretrained``) instead of ``-c`` / ``--weights``. Default model: the default bundled
  one, PaddleDetection's published BlazeFace-FPN-SSH.
* **ours deployed** (``deploy_paddle``, ``deploy_ort``, ``deploy_ov_f32``, ``deploy_ov_bf16``,
  ``deploy_ov_int8``): the same model exported once (``benchmarks/ours.py``: Paddle + ONNX, dynamic shape,
  decode + NMS inside; int8 quantized by ``tools/quantize.py`` on ``--calib_images`` real WIDER_train
  images), run by ``deploy/python``'s ``Detector`` with each backend and precision at the images' own size,
  every box the model outputs (score >= 0.01).
* **peers** (``benchmarks/peers.py``): each with its own input protocol; a missing model or runtime
  skips the row with the reason.

Seconds per image are read + detect + write of the prediction file for every row (ours as
``predict_widerface`` times it; its one warm-up pass on 10+ images is not counted; peers get one
uncounted warm-up detection). The CPU model and its AVX-512 flags are printed with the table;
the load average at start and end shows whether other processes shared the CPU.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.harness import BenchmarkError, markdown_table, peak_rss_mb, predict_wider, shared_dir
from benchmarks.machine import cpu_info, cpu_line
from benchmarks.ours import DEFAULT_CONFIG, DEFAULT_WEIGHTS, export_ours, int8_ready
from benchmarks.peers import PEERS, PeerError
from eval_tools import SETTINGS
from ppdet_face.pretrained import BUNDLED_MODELS, bundled_model

REPO = Path(__file__).resolve().parents[1]

OURS = {"ours_ss": False, "ours_ms": True}  # row key -> multi_scale
OURS_INPUT = {"ours_ss": "single-scale, original size", "ours_ms": "multi-scale recipe"}
# row key -> deploy/python backend, precision (our export at the images' own size)
DEPLOY = {"deploy_paddle": ("paddle", "f32"), "deploy_ort": ("onnxruntime", "f32"),
          "deploy_ov_f32": ("openvino", "f32"), "deploy_ov_bf16": ("openvino", "bf16"),
          "deploy_ov_int8": ("openvino", "int8")}
DEPLOY_NAME = {"paddle": "Paddle Inference + oneDNN", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}
ROWS = tuple(OURS) + tuple(DEPLOY) + tuple(PEERS)
DATASET = Path("data") / "wider_face_real"
IMAGE_DIR = "WIDER_val/images"
ANNO_PATH = "wider_face_split/wider_face_val_bbx_gt.txt"
DIFFICULTY = "wider_face_split/difficulty_easy_medium_hard.txt"
# PaddleDetection's model zoo (release/2.1 - 2.6 README; full WIDER train, multi-scale, full val) per bundled model


# --------------------------------------------------------------------------------------------------
# Data and machine
# --------------------------------------------------------------------------------------------------
def load_val_gt(dataset_dir, keys=None):
    """The val ground truth (with the difficulty file), restricted to ``keys`` in file order.

    Args:
        dataset_dir: the ``wider_face_real`` folder.
        keys: image keys to keep. Default: None (all).

    Returns:
        ``eval_tools.WiderGroundTruth``.

    Raises:
        BenchmarkError: missing or malformed ground truth.
    """
    from eval_tools import WiderFormatError, WiderGroundTruth, load_ground_truth

    dataset_dir = Path(dataset_dir)
    try:
        gt = load_ground_truth(dataset_dir / ANNO_PATH, dataset_dir / DIFFICULTY)
    except (OSError, WiderFormatError) as exc:
        raise BenchmarkError(f"cannot load the val ground truth: {exc}") from None
    if keys is not None:
        wanted = set(keys)
        gt = WiderGroundTruth([im for im in gt.images if im.key in wanted], gt.source)
    return gt


def val_images(dataset_dir, limit=None):
    """``[(key, path, n_faces)]`` of the val images in annotation order (the first ``limit``).

    Raises:
        BenchmarkError: no ground truth, or an annotated image missing on disk.
    """
    gt = load_val_gt(dataset_dir)
    out = []
    for im in gt.images[:limit]:
        path = Path(dataset_dir) / IMAGE_DIR / im.event / f"{im.name}.jpg"
        if not path.is_file():
            raise BenchmarkError(f"val image not found: {path}")
        out.append((im.key, str(path), len(im.boxes)))
    return out


# --------------------------------------------------------------------------------------------------
# Rows (each normally in a child process)
# --------------------------------------------------------------------------------------------------
def _timing(row, seconds, keys, crowded):
    """Add ``ms_mean``, ``ms_median``, ``ms_p90``, ``ms_max`` and ``ms_crowded`` (ms on image ``crowded``)."""
    ms = np.asarray(seconds, np.float64) * 1000.0
    row["ms_mean"] = float(ms.mean()) if len(ms) else float("nan")
    row["ms_median"] = float(np.median(ms)) if len(ms) else float("nan")
    row["ms_p90"] = float(np.percentile(ms, 90)) if len(ms) else float("nan")
    row["ms_max"] = float(ms.max()) if len(ms) else float("nan")
    by_key = dict(zip(keys, ms))
    row["ms_crowded"] = float(by_key[crowded]) if crowded in by_key else None
    return row


def run_peer_row(key, images, pred_dir, threads=2, peers_root=None, crowded=None):
    """Run peer ``key`` on ``images`` and write its prediction folder.

    Args:
        key: a key of ``peers.PEERS``.
        images: ``[(key, path, n_faces)]`` (see :func:`val_images`).
        pred_dir: output prediction folder.
        threads: CPU threads. Default: 2.
        peers_root: the peers folder. Default: ``<shared>/peers``.
        crowded: image key whose time is reported as ``ms_crowded``. Default: None.

    Returns:
        The row dict (``row``, ``detector``, ``input``, ``published``, timings), or with
        ``skipped`` (the reason) when the peer cannot be loaded.
    """
    import cv2


    cls = PEERS[key]
    row = {"row": key, "detector": cls.name, "input": cls.input, "published": cls.published,
           "published_note": cls.published_note, "pred_dir": str(pred_dir)}
    try:
        peer = cls(peers_root, threads)
    except PeerError as exc:
        return dict(row, skipped=str(exc))
    cv2.setNumThreads(threads)
    seconds = [t for t, _ in predict_wider(peer.detect, [(k, p) for k, p, _ in images], pred_dir)]
    return _timing(row, seconds, [k for k, _, _ in images], crowded)


def run_deploy_row(key, save_dir, images, pred_dir, threads=2, crowded=None):
    """Run our export ``save_dir`` through ``deploy/python`` (backend and precision of ``DEPLOY[key]``) on
    ``images`` at their own size, all boxes the model outputs; write the prediction folder.

    Returns:
        The row dict (see :func:`run_peer_row`); ``skipped`` when the backend cannot run here.
    """
    import cv2

    from ppdet_face_deploy.infer import DeployError, Detector

    backend, precision = DEPLOY[key]
    row = {"row": key, "detector": f"ours: {DEPLOY_NAME[backend]} {precision}", "input": "export, original size",
           "published": None, "published_note": "", "pred_dir": str(pred_dir)}
    try:
        det = Detector(str(save_dir), backend=backend, enable_mkldnn=backend == "paddle", cpu_threads=threads,
                       precision=precision)
    except DeployError as exc:
        return dict(row, skipped=str(exc))
    cv2.setNumThreads(threads)
    def detect(bgr):
        (rows,) = det.predict([bgr])
        return np.column_stack([det.layout.boxes(rows), det.layout.scores(rows)])

    seconds = [t for t, _ in predict_wider(detect, [(k, p) for k, p, _ in images], pred_dir)]
    return _timing(row, seconds, [k for k, _, _ in images], crowded)


def build_ours(config, weights, opts=(), threads=2, backend="auto"):
    """Our predictor as ``tools/eval.py`` builds it.

    Args:
        config: the config YAML.
        weights: ``.pdparams`` / ``.safetensors`` file; None: seeded, calibrated random weights.
        opts: ``key=value`` config overrides. Default: none.
        threads: CPU threads. Default: 2.
        backend: ``auto``, ``inference`` or ``dygraph``. Default: "auto".

    Returns:
        A ``WiderFacePredictor``.

    Raises:
        BenchmarkError: a config, weights or backend problem (one line).
    """
    from ppdet_face.engine import ConfigError, load_config, setup_device
    from ppdet_face.engine.weights import WeightsError, build_model
    from ppdet_face.evaluation import WiderFacePredictor

    try:
        cfg = load_config(str(config), list(opts))
        setup_device(cfg)
        cfg["weights"] = None if weights is None else str(weights)
        model, _ = build_model(cfg, allow_random_weights=weights is None)
    except (ConfigError, WeightsError, ValueError) as exc:
        raise BenchmarkError(str(exc)) from None
    try:
        return WiderFacePredictor.from_config(cfg, model, backend=backend, num_threads=threads)
    except (ValueError, RuntimeError) as exc:
        raise BenchmarkError(str(exc)) from None


def run_ours_row(key, predictor, dataset_dir, keys, pred_dir, crowded=None, model=None):
    """Run our ``predictor`` on the images ``keys`` via ``predict_widerface``.

    Args:
        key: ``ours_ss`` (single-scale) or ``ours_ms`` (multi-scale).
        model: the bundled model's name, or None (the ``-c`` / ``--weights`` model).
        predictor: from :func:`build_ours`.
        dataset_dir: the ``wider_face_real`` folder.
        keys: image keys to run, in any order (they run in annotation order).
        pred_dir: output prediction folder.
        crowded: image key whose time is reported as ``ms_crowded``. Default: None.

    Returns:
        The row dict (see :func:`run_peer_row`).

    Raises:
        BenchmarkError: an image could not be used.
    """
    from ppdet_face.evaluation import list_wider_images, predict_widerface

    try:
        images, _ = list_wider_images(str(dataset_dir), IMAGE_DIR, ANNO_PATH)
    except (OSError, ValueError) as exc:
        raise BenchmarkError(str(exc)) from None
    wanted = set(keys)
    images = [im for im in images if im.key in wanted]
    run = predict_widerface(predictor, images, str(pred_dir), multi_scale=OURS[key], progress=False)
    if run.failed:
        raise BenchmarkError(f"{len(run.failed)} images could not be used: {sorted(run.failed)[:3]}")
    published = bundled_model(model).info.get("published_ap") if OURS[key] and model else None
    name = bundled_model(model).title if model else "BlazeFace-FPN-SSH"
    row = {"row": row_key(key, model), "detector": f"ours: {name}", "input": OURS_INPUT[key],
           "published": published, "backend": predictor.backend,
           "published_note": "PaddleDetection's model zoo, multi-scale" if published else "",
           "pred_dir": str(pred_dir), "passes": run.passes, "warmup_s": run.warmup_seconds}
    return _timing(row, run.seconds, [im.key for im in images], crowded)


def _child(args):
    """One row in this process: write its prediction folder and its result JSON (``--_result``)."""
    dataset_dir = Path(args.shared) / DATASET
    keys = Path(args.out_dir, "images.txt").read_text(encoding="utf-8").split()
    wanted = set(keys)
    images = [im for im in val_images(dataset_dir) if im[0] in wanted]
    crowded = max(images, key=lambda im: im[2])[0]
    pred_dir = Path(args.out_dir) / row_key(args._row, args._model) / "pred"
    if args._row in OURS:
        config, weights = args.config, None if args.random_weights else args.weights
        if args._model:
            bundled = bundled_model(args._model)
            config, weights = bundled.config, bundled.weights
        predictor = build_ours(config, weights, args.opt, args.threads, args.backend)
        row = run_ours_row(args._row, predictor, dataset_dir, keys, pred_dir, crowded, args._model)
    elif args._row in DEPLOY:
        save_dir = Path(args.out_dir, "export_dir.txt").read_text(encoding="utf-8").strip()
        row = run_deploy_row(args._row, save_dir, images, pred_dir, args.threads, crowded)
    else:
        row = run_peer_row(args._row, images, pred_dir, args.threads, Path(args.shared) / "peers", crowded)
    row["peak_rss_mib"] = peak_rss_mb()
    Path(args._result).write_text(json.dumps(row, indent=1), encoding="utf-8")


def row_key(key, model=None):
    """The row's name (and folder): ``key``, or ``key@model`` for a bundled model's ours row."""
    return f"{key}@{model}" if model else key


def run_rows(rows, argv, out_dir, models=()):
    """Run each row in a child process (this script with ``--_row``); returns the row dicts. The ours rows run
    once per bundled model of ``models`` (``--_model``), or once with ``-c`` / ``--weights`` without ``models``.

    Raises:
        BenchmarkError: a child failed (its ``error:`` line is on stderr above).
    """
    jobs = [(key, m) for key in rows for m in (models if key in OURS and models else [None])]
    results = []
    for key, model in jobs:
        extra = ["--_model", model] if model else []
        result = Path(out_dir) / row_key(key, model) / "result.json"
        result.parent.mkdir(parents=True, exist_ok=True)
        result.unlink(missing_ok=True)
        shutil.rmtree(result.parent / "pred", ignore_errors=True)  # no stale prediction files
        print(f"running {row_key(key, model)} ...", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "benchmarks.wider_real", *argv, "--_row", key, *extra,
                               "--_result", str(result)], cwd=REPO, check=False)
        if proc.returncode != 0 or not result.is_file():
            raise BenchmarkError(f"row {row_key(key, model)} failed (exit status {proc.returncode}; see above)")
        row = json.loads(result.read_text(encoding="utf-8"))
        row["wall_s"] = time.perf_counter() - t0
        results.append(row)
    return results


# --------------------------------------------------------------------------------------------------
# Evaluation and report
# --------------------------------------------------------------------------------------------------
def row_label(row):
    """``detector (input)``."""
    return f"{row['detector']} ({row['input']})"


def evaluate_rows(rows, gt):
    """Score each row's prediction folder on ``gt``; sets ``row["ap"]``; returns ``{label: result}``."""
    from eval_tools import evaluate_widerface

    results = {}
    for row in rows:
        if "skipped" in row:
            continue
        result = evaluate_widerface(row["pred_dir"], gt)
        row["ap"] = {s: float(result.ap[s]) for s in SETTINGS}
        results[row_label(row)] = result
    return results


def _fmt(value, digits=1):
    return "—" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def format_table(rows):
    """The markdown table of ``rows`` (evaluated by :func:`evaluate_rows`)."""
    header = ["detector", "input", "AP easy", "AP medium", "AP hard", "published easy / medium / hard (full val)",
              "ms/image mean", "median", "p90", "max", "ms on most crowded", "peak RSS MiB"]
    cells = []
    for row in rows:
        if "skipped" in row:
            cells.append([row["detector"], row["input"], f"skipped: {row['skipped']}"])
            continue
        pub = row.get("published")
        pub = " / ".join(f"{v:.3f}" for v in pub) + f" ({row['published_note']})" if pub else "—"
        cells.append([row["detector"], row["input"], *(_fmt(row["ap"][s], 4) for s in SETTINGS), pub,
                      _fmt(row["ms_mean"]), _fmt(row.get("ms_median")), _fmt(row.get("ms_p90")), _fmt(row["ms_max"]),
                      _fmt(row.get("ms_crowded")), _fmt(row.get("peak_rss_mib"), 0)])
    return markdown_table(header, cells, align="llrrrlrrrrrr")


def weights_note(args, models, ran):
    """What ours ran with: the bundled models and / or ``--weights`` (``ran``: the row keys that ran)."""
    if not ran & (set(OURS) | set(DEPLOY)):
        return "not run"
    if args.random_weights:
        return "seeded RANDOM weights (speed and memory only, AP meaningless)"
    parts = [f"bundled models {', '.join(models)}"] if models and ran & set(OURS) else []
    if ran & set(DEPLOY) or not models:
        parts.append(f"{Path(args.config).name} with weights {args.weights}")
    return "; ".join(parts)


def header_lines(gt, crowded, weights_note, threads, cpu, load):
    """The lines printed above the table."""
    faces = " / ".join(str(gt.count_faces(s)) for s in SETTINGS)
    return [f"WIDER FACE val, {len(gt)} real images of wider_face_real (easy / medium / hard faces: {faces}); "
            f"{threads} threads; ours: {weights_note}",
            f"most crowded image: {crowded[0]} ({crowded[1]} faces); ms/image = read + detect + write",
            cpu_line(cpu),
            f"load average (1 min): {load[0]:.2f} at start, {load[1]:.2f} at end "
            f"(above 1 per core: other processes shared the CPU)"]


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-c", "--config", default=str(DEFAULT_CONFIG), help="our config (default: %(default)s)")
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="our weights (default: %(default)s)")
    p.add_argument("--random_weights", action="store_true",
                   help="ours with seeded random weights (speed and memory only; the AP is meaningless)")
    p.add_argument("--models", default=None,
                   help=f"bundled models for the ours rows, comma-separated, instead of -c / --weights "
                        f"(any of {', '.join(BUNDLED_MODELS)})")
    p.add_argument("-o", "--opt", nargs="*", default=[], help="config overrides for ours, key=value")
    p.add_argument("--backend", default="auto", choices=("auto", "inference", "dygraph"), help="our network backend")
    p.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows (default: all: %(default)s)")
    p.add_argument("--limit", type=int, default=None, help="only the first N val images (default: all 200)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads per detector (default: 2)")
    p.add_argument("--calib_images", type=int, default=100,
                   help="deploy_ov_int8: real WIDER_train images to calibrate the int8 model on (default: 100)")
    p.add_argument("--shared", default=str(shared_dir()),
                   help="shared folder (default: $PPDET_FACE_SHARED or ../shared)")
    p.add_argument("--out_dir", default=str(REPO / "output" / "wider_real"), help="prediction folders and results")
    p.add_argument("--json", default=None, help="also write the rows, APs and machine info as JSON here")
    p.add_argument("--markdown", default=None, help="also write the header and table as markdown here")
    p.add_argument("--plot", default=None, help="PR-curve PNG (default: <out_dir>/pr_curves.png)")
    p.add_argument("--_row", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_result", default=None, help=argparse.SUPPRESS)
    p.add_argument("--_model", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _check(args):
    """The selected rows, bundled models and images; raises :class:`BenchmarkError` on bad input."""
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown or not rows:
        raise BenchmarkError(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    models = [m.strip() for m in (args.models or "").split(",") if m.strip()]
    try:
        for m in models:
            bundled_model(m)
    except ValueError as exc:
        raise BenchmarkError(f"--models: {exc}") from None
    if args.limit is not None and args.limit < 1:
        raise BenchmarkError(f"--limit must be >= 1, got {args.limit}")
    dataset_dir = Path(args.shared) / DATASET
    if not (dataset_dir / ANNO_PATH).is_file():
        raise BenchmarkError(f"WIDER val data not found under {dataset_dir} (set PPDET_FACE_SHARED or --shared)")
    if any(r in OURS or r in DEPLOY for r in rows) and not args.random_weights:
        w = args.weights
        if "://" not in w and not any(os.path.isfile(w + s) for s in ("", ".pdparams", ".safetensors")):
            raise BenchmarkError(f"weights not found: {w} (pass --weights, or --random_weights for speed and memory "
                                 "only, or leave ours out with --rows)")
    return rows, models, val_images(dataset_dir, args.limit)


def prepare_export(args, rows, out_dir):
    """Export ours once for the deploy rows (dynamic shape; int8 quantized on ``--calib_images`` real
    WIDER_train images when its row is selected) and record the folder for the child processes."""
    weights = None if args.random_weights else args.weights
    save_dir, _ = export_ours(args.config, weights, out_dir / "export")
    if "deploy_ov_int8" in rows:
        reason = int8_ready(save_dir, args.calib_images)
        if reason:
            raise BenchmarkError(f"int8 row: {reason} (leave deploy_ov_int8 out with --rows)")
    (out_dir / "export_dir.txt").write_text(str(save_dir) + "\n", encoding="utf-8")


def _write_outputs(args, text, rows, results, meta):
    from eval_tools.plotting import plot_pr_comparison

    plot = args.plot or str(Path(args.out_dir) / "pr_curves.png")
    if results:
        title = f"WIDER FACE val, {meta['images']} real images (ours: {meta['weights']})"
        print(f"wrote {plot_pr_comparison(results, plot, title=title)}")
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(dict(meta, rows=rows), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    try:
        if args._row:
            _child(args)
            return 0
        load_start = os.getloadavg()[0]
        rows, models, images = _check(args)
        out_dir = Path(args.out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "images.txt").write_text("\n".join(k for k, _, _ in images) + "\n", encoding="utf-8")
        if any(r in DEPLOY for r in rows):
            prepare_export(args, rows, out_dir)
        results = run_rows(rows, argv, out_dir, models)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    gt = load_val_gt(Path(args.shared) / DATASET, [k for k, _, _ in images])
    evaluated = evaluate_rows(results, gt)
    crowded = max(images, key=lambda im: im[2])
    weights = weights_note(args, models, {r["row"].partition("@")[0] for r in results})
    cpu = cpu_info()
    load = (load_start, os.getloadavg()[0])
    text = "\n".join(header_lines(gt, (crowded[0], crowded[2]), weights, args.threads, cpu, load)
                     + ["", format_table(results), "",
                        "published: the peer table of <shared>/README.md (full val, each peer's own protocol); "
                        "ours, published: PaddleDetection's model zoo for its published weights (full train set)"])
    print("\n" + text)
    meta = {"images": len(images), "weights": weights, "cpu": cpu, "load_avg": list(load), "threads": args.threads,
            "most_crowded": {"key": crowded[0], "faces": crowded[2]}}
    _write_outputs(args, text, results, evaluated, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
