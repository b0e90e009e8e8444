"""Where our deploy time goes: OpenVINO's per-node profile of our 640x640 export, per precision.

    python -m benchmarks.profile_deploy [--model_dir <fixed-640 export with model.onnx>] [--precisions f32,bf16,int8]
        [--runs 30] [--threads 2] [--calib_images 100] [--top 12]

Without --model_dir the bundled real-face model is exported at 640x640 (benchmarks/ours.py) with its deployment
NMS score threshold (draw_threshold, 0.5, as benchmarks/deploy_speed.py) and, for int8,
quantized on real WIDER_train images (tools/quantize.py). Each precision is compiled as deploy's
OpenVinoRunner compiles it (same properties, static 1x3x640x640 shape) plus ``PERF_COUNT``; after 5 warm-up
runs, the per-node times of --runs runs are summed per node and divided by the runs. Printed per precision:
total ms, the share of the network trunk (up to the last convolution) and of the tail after it (box decode,
scores, NMS, output packing), layout reorders, and the node types taking the most time with
the kernels OpenVINO chose for them (``exec_type``: e.g. ``brgconv_avx512_amx`` means AMX tiles). The CPU
line is printed first: kernels and shares differ between CPUs.
"""
import argparse
import collections
import pathlib
import sys
import tempfile

import numpy as np

from benchmarks.deploy_speed import test_image
from benchmarks.machine import cpu_info, cpu_line
from benchmarks.ours import DEFAULT_CONFIG, DEFAULT_WEIGHTS, export_ours, int8_ready, nms_score_threshold
from ppdet_face.utils.shared import shared_dir

REPO = pathlib.Path(__file__).resolve().parents[1]

CONV_TYPES = ("Convolution", "GroupConvolution")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model_dir", default=None, help="fixed-shape 640 export with model.onnx (default: export ours)")
    p.add_argument("--precisions", default="f32,bf16,int8")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--calib_images", type=int, default=100, help="int8 calibration images (when not quantized)")
    p.add_argument("--top", type=int, default=12, help="node types listed per precision")
    return p.parse_args(argv)


def profile(model_dir, precision, threads, runs, bgr):
    """Mean per-node ``(name, type, exec_type, ms)`` in execution order for one precision on the 640x640
    ``bgr`` image, and the median wall ms of a run."""
    import time

    from ppdet_face_deploy.detector import Detector

    det = Detector(model_dir, backend="openvino", precision=precision, cpu_threads=threads)
    runner = det.runner
    feeds = det.preprocess([bgr])
    feeds = {n: feeds[n] for n in runner.input_names}
    model = runner.model.clone()
    model.reshape({name: list(value.shape) for name, value in feeds.items()})  # static, as the runner's cache
    compiled = runner.core.compile_model(model, "CPU", dict(runner.config, PERF_COUNT=True))
    request = compiled.create_infer_request()
    for _ in range(5):
        request.infer(feeds)
    totals, meta, wall = collections.OrderedDict(), {}, []
    for _ in range(runs):
        t0 = time.perf_counter()
        request.infer(feeds)
        wall.append((time.perf_counter() - t0) * 1000.0)
        for info in request.get_profiling_info():
            ms = info.real_time.total_seconds() * 1000.0
            totals[info.node_name] = totals.get(info.node_name, 0.0) + ms
            meta[info.node_name] = (info.node_type, info.exec_type)
    nodes = [(name, *meta[name], ms / runs) for name, ms in totals.items()]
    return nodes, float(np.median(wall))


def summary_lines(precision, nodes, wall_ms, top):
    """The printed block of one precision."""
    total = sum(n[3] for n in nodes) or 1e-9
    last_conv = max((i for i, n in enumerate(nodes) if n[1] in CONV_TYPES), default=len(nodes) - 1)
    tail = sum(n[3] for n in nodes[last_conv + 1:])
    reorder = sum(n[3] for n in nodes if n[1] == "Reorder")
    by_type = collections.defaultdict(lambda: [0.0, 0, collections.Counter()])
    for _, node_type, exec_type, ms in nodes:
        entry = by_type[node_type]
        entry[0] += ms
        entry[1] += 1
        entry[2][exec_type] += 1
    lines = [f"\n{precision}: median run {wall_ms:.2f} ms; profiled nodes sum to {total:.2f} ms "
             f"({len(nodes)} nodes)",
             f"  trunk (up to the last convolution) {total - tail:.2f} ms ({(total - tail) / total:.0%}); "
             f"tail after it (decode, scores, NMS, outputs) {tail:.2f} ms ({tail / total:.0%}); "
             f"layout reorders {reorder:.2f} ms ({reorder / total:.0%})",
             "  | node type | ms | share | nodes | kernels (exec_type: count) |", "  |---|---:|---:|---:|---|"]
    for node_type, (ms, count, kernels) in sorted(by_type.items(), key=lambda kv: -kv[1][0])[:top]:
        kern = ", ".join(f"{k}: {c}" for k, c in kernels.most_common(3))
        lines.append(f"  | {node_type} | {ms:.2f} | {ms / total:.0%} | {count} | {kern} |")
    tail_nodes = sorted(nodes[last_conv + 1:], key=lambda n: -n[3])[:5]
    if tail_nodes:
        lines.append("  slowest tail nodes: " + "; ".join(f"{n[0]} ({n[1]}, {n[3]:.3f} ms)" for n in tail_nodes))
    return lines


def main(argv=None):
    args = parse_args(argv)
    tmp = None
    model_dir = args.model_dir
    if model_dir is None:
        tmp = tempfile.mkdtemp(prefix="profile_deploy_")
        from ppdet_face.export.infer_cfg import DRAW_THRESHOLD

        model_dir, random = export_ours(DEFAULT_CONFIG, DEFAULT_WEIGHTS, tmp, fixed_shape=640, random_if_missing=True,
                                        score_threshold=DRAW_THRESHOLD)
        if random:
            print(f"{DEFAULT_WEIGHTS} not found: profiling seeded random weights (the time is the same)")
    bgr, image_note = test_image(shared_dir())
    print(cpu_line(cpu_info()))
    print(f"OpenVINO per-node profile, 1x3x640x640 ({image_note}), {args.threads} threads, mean of {args.runs} "
          f"runs; {model_dir} (NMS score threshold {nms_score_threshold(model_dir)})")
    for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
        if precision == "int8":
            reason = int8_ready(model_dir, args.calib_images)
            if reason:
                print(f"\nint8: skipped ({reason})")
                continue
        nodes, wall = profile(model_dir, precision, args.threads, args.runs, bgr)
        print("\n".join(summary_lines(precision, nodes, wall, args.top)))
    if tmp:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
