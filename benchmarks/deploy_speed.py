"""Deployment speed at 640x640, batch 1, 2 threads: our exported BlazeFace-FPN-SSH (Paddle Inference
+ oneDNN, ONNX Runtime) next to the pretrained peers in <shared>/peers/.

    python -m benchmarks.deploy_speed [-c|--config <yml>] [--weights <file>] [--model_dir <export>]
        [--runs 60] [--warmup 10] [--threads 2] [--calib_images 100] [--json bench.json]

Default model: the default bundled real-face model, PaddleDetection's published BlazeFace-FPN-SSH
(configs/face_detection/blazeface_fpn_ssh_1000e.yml, pretrained/blazeface_fpn_ssh_1000e.safetensors).

One table from one run: per detector, end-to-end ms (BGR uint8 640x640 image in memory ->
boxes: preprocessing, network, decoding, NMS) and network-only ms (the runtime call alone;
ours includes its in-graph decode + NMS), medians of --runs (>= 50) timed runs after --warmup
runs (in blocks of 10, round-robin over the detectors, so all see the same load from other
processes; each block re-warms for >= 0.25 s first, so no runtime pays for the previous one's
spinning threads; minima are printed too), the process CPU time of each
end-to-end run (all threads, median: what a run costs whatever the load; idle worker threads
that spin count too), plus GFLOP (Conv/MatMul, counted from each ONNX graph by
devtools.flops) and the achieved GFLOP/s of the network-only time.

Rows of ours: Paddle Inference + oneDNN, ONNX Runtime, Paddle Inference without oneDNN, OpenVINO f32
(accurate mode), bf16 and int8 (int8: the export quantized by tools/quantize.py on --calib_images real
WIDER_train images unless it already holds an int8 model), and single-thread rows. p90 of the
end-to-end times and the ratio to the fastest peer's median are printed beside the median; the CPU model
and its AVX-512 / VNNI / BF16 flags above the table.

Targets (issues): ours end-to-end <= 22 ms, and Paddle + oneDNN / ONNX Runtime <= 1.25x. Each is
MET only if it holds for the wall-clock medians AND for the CPU time: end-to-end CPU ms / threads
for the 22 ms target; for the 1.25x target the CPU-time ratio at --threads and the CPU-time ratio
of the two extra single-thread rows of ours (no waiting, no spinning: the work a run costs, which
other processes cannot shrink for one runtime and not the other). Under load a runtime whose
threads wait for each other (a descheduled worker) can look faster or slower than it is; these
checks keep that from producing a MET. OpenVINO issue: our fastest f32 path <= 1.5x the fastest
peer, our fastest bf16 / int8 path <= 1.0x (end-to-end medians of the same run). Without trained weights our model
is exported with seeded random (calibrated) weights: speed is the same, detections are
meaningless; the table says which. The peers are those of benchmarks/peers.py (one implementation
each, with its own input protocol applied to the 640x640 image, and its deployment score threshold);
they are skipped (with the reason) when <shared>/peers is absent. Ours is exported with its deployment
threshold too (--score_threshold, default infer_cfg.yml's draw_threshold 0.5, in the graph's NMS): exactly
the boxes above 0.5 of the WIDER-protocol export (0.01), with a deployment-sized candidate set.
"""
import argparse
import gc
import glob
import json
import os
import pathlib
import shutil
import tempfile
import time

import cv2
import numpy as np

from benchmarks.harness import markdown_table
from benchmarks.machine import cpu_info, cpu_line
from benchmarks.ours import DEFAULT_CONFIG, DEFAULT_WEIGHTS, export_ours, int8_ready, nms_score_threshold
from benchmarks.peers import SCRFD, PeerError, RetinaFace, UltraLight, YuNet
from ppdet_face.utils.shared import shared_dir

REPO = pathlib.Path(__file__).resolve().parents[1]

TARGET_E2E_MS = 22.0
TARGET_RATIO = 1.25
PADDLE, ORT, ONE_THREAD = "ours: Paddle Inference + oneDNN", "ours: ONNX Runtime", ", 1 thread"
PLAIN = "ours: Paddle Inference, oneDNN off"
OPENVINO = "ours: OpenVINO"
MIN_RUNS = 50
BLOCK, REWARM, REWARM_S = 10, 3, 0.25  # re-warm: >= 3 runs and >= 0.25 s (Intel OpenMP spins 200 ms)
FLOOR_GFLOP, FLOOR_MS = 2.27, 14.5
PEER_F32_RATIO, PEER_LOW_RATIO = 1.5, 1.0  # OpenVINO issue: f32 <= 1.5x the fastest peer, bf16/int8 <= 1.0x


# Each peer's deployment score threshold (its demo's), so NMS sees a deployment-sized candidate set.
DEPLOY_SCORE_THRESHOLDS = {YuNet: 0.6, UltraLight: 0.7, RetinaFace: 0.02, SCRFD: 0.5}


def target_verdicts(rows, threads):
    """The issue's targets, each judged on the wall-clock medians AND on CPU time (see the docstring).

    ``rows``: the table rows; ours are found by label (the 1-thread rows are optional).
    """
    by = {r["detector"]: r for r in rows if "skipped" not in r}
    pd, ort = by[PADDLE], by[ORT]
    out = {}
    for key, row in (("paddle_onednn", pd), ("onnxruntime", ort)):
        wall, cpu_bound = row["e2e_ms"], row["e2e_cpu_ms"] / threads
        out[f"e2e_{key}"] = {"wall_ms": wall, "cpu_ms_per_thread": cpu_bound,
                             "met": wall <= TARGET_E2E_MS and cpu_bound <= TARGET_E2E_MS}
    ratio = {"wall": pd["e2e_ms"] / ort["e2e_ms"], "cpu": pd["e2e_cpu_ms"] / ort["e2e_cpu_ms"],
             "min": pd["e2e_min_ms"] / ort["e2e_min_ms"]}
    if PADDLE + ONE_THREAD in by and ORT + ONE_THREAD in by:
        ratio["cpu_1_thread"] = by[PADDLE + ONE_THREAD]["e2e_cpu_ms"] / by[ORT + ONE_THREAD]["e2e_cpu_ms"]
    ratio["met"] = all(ratio[k] <= TARGET_RATIO for k in ("wall", "cpu", "cpu_1_thread") if k in ratio)
    out["ratio"] = ratio
    out.update(peer_verdicts(by))
    if PLAIN in by:  # --enable_mkldnn must be faster than without
        speedup = {"wall": by[PLAIN]["e2e_ms"] / pd["e2e_ms"], "cpu": by[PLAIN]["e2e_cpu_ms"] / pd["e2e_cpu_ms"]}
        speedup["met"] = speedup["wall"] > 1.0 and speedup["cpu"] > 1.0
        out["onednn_speedup"] = speedup
    return out


def peer_verdicts(by):
    """The OpenVINO issue's goals against the fastest peer (end-to-end medians, same run): our fastest
    f32 path <= PEER_F32_RATIO x, our fastest bf16 / int8 path <= PEER_LOW_RATIO x. Empty without peers."""
    peers = [r["e2e_ms"] for name, r in by.items() if not name.startswith("ours")]
    if not peers:
        return {}
    fastest = min(peers)
    out = {}
    for key, limit, suffixes in (("peer_f32", PEER_F32_RATIO, (PADDLE, ORT, f"{OPENVINO} f32")),
                                 ("peer_bf16_int8", PEER_LOW_RATIO, (f"{OPENVINO} bf16", f"{OPENVINO} int8"))):
        ours = {name: by[name]["e2e_ms"] for name in suffixes if name in by}
        if ours:
            best = min(ours, key=ours.get)
            out[key] = {"ours": best, "ratio": ours[best] / fastest, "limit": limit,
                        "met": ours[best] / fastest <= limit}
    return out


def target_lines(rows, threads):
    v = target_verdicts(rows, threads)

    def verdict(ok):
        return "MET" if ok else "NOT MET"

    lines = [f"\ntargets (MET only if the wall-clock median AND the CPU-time figures meet it; CPU ms / {threads} "
             f"threads = the wall time of a run whose threads never wait):"]
    for key, name in (("e2e_paddle_onednn", "Paddle+oneDNN"), ("e2e_onnxruntime", "ONNX Runtime")):
        e = v[key]
        lines.append(f"  {name} end-to-end <= {TARGET_E2E_MS:.0f} ms (floor {FLOOR_GFLOP} GFLOP ~ {FLOOR_MS} ms): "
                     f"median {e['wall_ms']:.1f} ms, CPU {e['cpu_ms_per_thread']:.1f} ms/thread -> {verdict(e['met'])}")
    r = v["ratio"]
    one = f", {r['cpu_1_thread']:.2f}x by 1-thread CPU time" if "cpu_1_thread" in r else ""
    lines.append(f"  Paddle+oneDNN / ONNX Runtime <= {TARGET_RATIO}x: {r['wall']:.2f}x by medians, {r['cpu']:.2f}x by "
                 f"CPU time{one} -> {verdict(r['met'])} (by minima: {r['min']:.2f}x)")
    for key, name in (("peer_f32", "fastest f32 path"), ("peer_bf16_int8", "fastest bf16/int8 path")):
        if key in v:
            p = v[key]
            lines.append(f"  ours, {name} ({p['ours']}) / fastest peer <= {p['limit']}x: {p['ratio']:.2f}x by "
                         f"medians -> {verdict(p['met'])}")
    if "onednn_speedup" in v:
        u = v["onednn_speedup"]
        lines.append(f"  Paddle with oneDNN faster than without: {u['wall']:.2f}x by medians, "
                     f"{u['cpu']:.2f}x by CPU time -> {verdict(u['met'])}")
    return lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    parser.add_argument("--model_dir", default=None, help="use this exported folder (fixed 640, with model.onnx)")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--score_threshold", type=float, default=None,
                        help="our export's in-graph NMS score threshold (default: infer_cfg.yml's draw_threshold, "
                             "0.5, as the peers' deployment thresholds; ignored with --model_dir)")
    parser.add_argument("--calib_images", type=int, default=100,
                        help="OpenVINO int8 row: quantize the export (tools/quantize.py) on this many shared "
                             "WIDER_train images unless it already holds an int8 model; 0: no int8 row")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.runs < MIN_RUNS:
        parser.error(f"--runs must be >= {MIN_RUNS} (medians of at least {MIN_RUNS} timed runs), got {args.runs}")
    if args.warmup < 3:
        parser.error(f"--warmup must be >= 3 (OpenVINO compiles a static shape on the third call in a row), "
                     f"got {args.warmup}")
    return args


def test_image(shared):
    """A real 640x640 image (the first WIDER subset image, resized) or a synthetic one; and its note."""
    images = sorted(glob.glob(str(shared / "data" / "wider_face_val_subset" / "WIDER_val" / "images" / "*" / "*.jpg")))
    if images:
        bgr = cv2.resize(cv2.imread(images[0]), (640, 640), interpolation=cv2.INTER_LINEAR)
        return bgr, f"{os.path.basename(images[0])} resized to 640x640"
    rng = np.random.RandomState(0)
    return cv2.resize((rng.rand(40, 40, 3) * 255).astype(np.uint8), (640, 640)), \
        "synthetic 640x640 image (shared/ not found)"


def our_entries(save_dir, bgr, threads, int8_skip, gflop):
    """(label, GFLOP, network call, end-to-end call) per backend x precision of ours."""
    from ppdet_face_deploy.infer import Detector

    ours = [(PADDLE, "paddle", True, threads, "f32"), (ORT, "onnxruntime", False, threads, "f32"),
            (PLAIN, "paddle", False, threads, "f32")]
    ours += [(f"{OPENVINO} {p}", "openvino", False, threads, p) for p in ("f32", "bf16")]
    if int8_skip is None:
        ours.append((f"{OPENVINO} int8", "openvino", False, threads, "int8"))
    if threads != 1:  # single-thread rows: CPU time without any waiting or spinning (contention-proof work)
        ours += [(PADDLE + ONE_THREAD, "paddle", True, 1, "f32"), (ORT + ONE_THREAD, "onnxruntime", False, 1, "f32")]
    entries = []
    for label, backend, mkldnn, n, precision in ours:
        det = Detector(save_dir, backend=backend, enable_mkldnn=mkldnn, cpu_threads=n, precision=precision)
        inputs = det.preprocess([bgr])
        entries.append((label, gflop, (lambda d=det, i=inputs: d.runner(i)), (lambda d=det: d.predict([bgr]))))
    return entries


def peer_entries(shared, bgr, threads, rows):
    """The peers' entries; a missing peer appends a skipped row instead."""
    from devtools.flops import count_flops

    entries = []
    for cls, score_threshold in DEPLOY_SCORE_THRESHOLDS.items():
        try:
            peer = cls(shared / "peers", threads, score_threshold=score_threshold)
            gflop = count_flops(str(peer.path), peer.shapes)["flops"] / 1e9
        except (PeerError, OSError, RuntimeError, ValueError) as exc:  # a missing peer must not stop the table
            rows.append({"detector": cls.name, "skipped": f"{type(exc).__name__}: {exc}"[:120]})
            continue
        blob = peer.blob(bgr)
        entries.append((f"{peer.label} [{cls.runtime}]", gflop, (lambda p=peer, b=blob: p.network(b)),
                        (lambda p=peer: p.detect(bgr))))
    return entries


def time_entries(entries, runs, warmup):
    """Blocks of BLOCK timed runs, round-robin over the detectors, so all see the same load from other
    processes; each block starts with re-warm runs for at least REWARM_S: the previous runtime's idle
    threads keep spinning on the cores for a while (Intel OpenMP's KMP_BLOCKTIME is 200 ms).
    Every timed call records its wall time and the process CPU time it used (all threads).
    Returns ``{label: (network wall ms, e2e wall ms, e2e CPU ms)}``."""
    times = {label: ([], [], []) for label, *_ in entries}
    for _, _, net_fn, e2e_fn in entries:
        for _ in range(warmup):
            net_fn()
            e2e_fn()
    gc.collect()
    gc.freeze()  # the setup's objects (Paddle, ORT, the graphs) are never garbage: full collections skip them
    done = 0
    while done < runs:
        block = min(BLOCK, runs - done)
        for label, _, net_fn, e2e_fn in entries:
            for fn, bucket, cpu_bucket in ((net_fn, times[label][0], None), (e2e_fn, times[label][1], times[label][2])):
                start, n = time.perf_counter(), 0
                while n < REWARM or time.perf_counter() - start < REWARM_S:  # outlast the last runtime's spinning
                    fn()
                    n += 1
                for _ in range(block):
                    c = time.process_time()
                    t = time.perf_counter()
                    fn()
                    bucket.append((time.perf_counter() - t) * 1000.0)
                    if cpu_bucket is not None:
                        cpu_bucket.append((time.process_time() - c) * 1000.0)
        done += block
    return times


def table_lines(rows):
    """The markdown table, with each row's ratio to the fastest peer's end-to-end median."""
    peers = [r["e2e_ms"] for r in rows if "skipped" not in r and not r["detector"].startswith("ours")]
    fastest = min(peers) if peers else None
    header = ["detector", "end-to-end ms (median)", "p90", "/ fastest peer",
              "end-to-end CPU ms/run (median, all threads)", "network ms (median)", "GFLOP", "GFLOP/s (network)",
              "end-to-end / network ms (min)"]
    cells = []
    for r in rows:
        if "skipped" in r:
            cells.append([r["detector"], f"skipped: {r['skipped']}"])
            continue
        r["gflops_per_s"] = r["gflop"] / (r["net_ms"] / 1000.0)
        ratio = f"{r['e2e_ms'] / fastest:.2f}x" if fastest else "—"
        cells.append([r["detector"], f"{r['e2e_ms']:.1f}", f"{r['e2e_p90_ms']:.1f}", ratio, f"{r['e2e_cpu_ms']:.1f}",
                      f"{r['net_ms']:.1f}", f"{r['gflop']:.2f}", f"{r['gflops_per_s']:.0f}",
                      f"{r['e2e_min_ms']:.1f} / {r['net_min_ms']:.1f}"])
    return markdown_table(header, cells).split("\n")


def main(argv=None):
    args = parse_args(argv)
    cv2.setNumThreads(args.threads)
    from devtools.flops import count_flops

    shared = shared_dir()
    bgr, image_note = test_image(shared)
    load_start = os.getloadavg()[0]
    tmp = tempfile.mkdtemp(prefix="deploy_speed_")
    if args.model_dir:
        save_dir, random = args.model_dir, None
    else:
        from ppdet_face.export.infer_cfg import DRAW_THRESHOLD

        threshold = DRAW_THRESHOLD if args.score_threshold is None else args.score_threshold
        save_dir, random = export_ours(args.config, args.weights, tmp, fixed_shape=640, random_if_missing=True,
                                       score_threshold=threshold)
    int8_skip = int8_ready(save_dir, args.calib_images)
    rows = [] if int8_skip is None else [{"detector": f"{OPENVINO} int8", "skipped": int8_skip}]
    ours_gflop = count_flops(os.path.join(save_dir, "model.onnx"), {"image": [1, 3, 640, 640]})["flops"] / 1e9
    entries = our_entries(save_dir, bgr, args.threads, int8_skip, ours_gflop)
    entries += peer_entries(shared, bgr, args.threads, rows)
    times = time_entries(entries, args.runs, args.warmup)
    for label, gflop, _, _ in entries:
        net, e2e, cpu = times[label]
        rows.insert(len([r for r in rows if "skipped" not in r]),
                    {"detector": label, "e2e_ms": float(np.median(e2e)), "e2e_p90_ms": float(np.percentile(e2e, 90)),
                     "net_ms": float(np.median(net)), "e2e_min_ms": float(np.min(e2e)),
                     "net_min_ms": float(np.min(net)), "e2e_cpu_ms": float(np.median(cpu)), "runs": len(e2e),
                     "gflop": gflop})
    load_end = os.getloadavg()[0]
    weights_note = ("seeded RANDOM weights (no trained weights found: speed only)" if random else
                    f"{args.config} with {args.weights}" if random is False else f"exported folder {save_dir}")
    weights_note += f", NMS score threshold {nms_score_threshold(save_dir)}"
    print(f"\nDeploy speed, batch 1, {args.threads} threads, median of {args.runs} runs after {args.warmup} warm-up; "
          f"input {image_note}; ours: {weights_note}")
    print(cpu_line(cpu_info()))
    print(f"load average (1 min) {load_start:.2f} at start, {load_end:.2f} at end (2 cores: >1 means shared CPU)\n")
    print("\n".join(table_lines(rows)))
    for line in target_lines(rows, args.threads):
        print(line)
    shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"rows": rows, "runs": args.runs, "warmup": args.warmup, "threads": args.threads,
                       "weights": weights_note, "load_avg": [load_start, load_end], "cpu": cpu_info(),
                       "targets": target_verdicts(rows, args.threads)}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
