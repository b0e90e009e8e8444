"""What the landmark branch costs at deployment: the five-point model next to the box-only model it was fine-tuned
from, at 640x640, batch 1, on every runtime and precision, in one run (issue #21's target: <= 1.1x):

    python -m benchmarks.landmark_speed [--kps_config <yml>] [--kps_weights <file>] [--config <yml>]
        [--weights <file>] [--runs 60] [--warmup 10] [--threads 2] [--score_threshold 0.5]

Defaults: the box-only model is the default bundled one (PaddleDetection's published BlazeFace-FPN-SSH), the landmark
model the bundled ``blazeface_fpn_ssh_kps_wider_real`` (its card's config and ``pretrained/`` weights). Both are
exported (decode + NMS inside, fixed 640x640, in-graph score threshold --score_threshold) and timed as
``benchmarks.deploy_speed`` times (round-robin blocks, re-warm, medians of --runs): end-to-end (BGR image in memory
-> rows) and network only. The CPU model and flags come first.
"""
import argparse
import sys
import tempfile

import numpy as np

from benchmarks.deploy_speed import MIN_RUNS, test_image, time_entries
from benchmarks.harness import machine_line, markdown_table, shared_dir
from benchmarks.ours import DEFAULT_CONFIG, DEFAULT_WEIGHTS, export_ours
from ppdet_face.engine.weights import WeightsNotFoundError
from ppdet_face.pretrained import bundled_model
from ppdet_face_deploy.bundled import ALIASES

KPS_MODEL = bundled_model(ALIASES["blazeface_fpn_ssh_kps"])
TARGET_RATIO = 1.1
#: (label, backend, oneDNN, precision) of every runtime the deploy package has (int8: see deploy_speed).
RUNTIMES = [("Paddle Inference + oneDNN", "paddle", True, "f32"), ("ONNX Runtime", "onnxruntime", False, "f32"),
            ("OpenVINO f32", "openvino", False, "f32"), ("OpenVINO bf16", "openvino", False, "bf16")]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="the box-only model")
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS))
    p.add_argument("--kps_config", default=str(KPS_MODEL.config), help="the landmark model")
    p.add_argument("--kps_weights", default=str(KPS_MODEL.weights))
    p.add_argument("--runs", type=int, default=60)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--score_threshold", type=float, default=0.5, help="in-graph NMS score threshold of both")
    args = p.parse_args(argv)
    if args.runs < MIN_RUNS:
        p.error(f"--runs must be >= {MIN_RUNS}, got {args.runs}")
    return args


def entries(models, bgr, threads):
    """(label, None, network call, end-to-end call) per model x runtime."""
    from ppdet_face_deploy.infer import Detector

    out = []
    for runtime, backend, mkldnn, precision in RUNTIMES:
        for name, save_dir in models.items():
            det = Detector(save_dir, backend=backend, enable_mkldnn=mkldnn, cpu_threads=threads, precision=precision)
            inputs = det.preprocess([bgr])
            out.append(((runtime, name), None, (lambda d=det, i=inputs: d.runner(i)),
                        (lambda d=det: d.predict([bgr]))))
    return out


def table(times):
    """One row per runtime: both models' medians and the ratio."""
    rows = []
    for runtime, *_ in RUNTIMES:
        box_net, box_e2e, _ = times[(runtime, "boxes")]
        kps_net, kps_e2e, _ = times[(runtime, "landmarks")]
        ratio = np.median(kps_e2e) / np.median(box_e2e)
        rows.append([runtime, f"{np.median(box_e2e):.1f}", f"{np.median(kps_e2e):.1f}", f"{ratio:.3f}x",
                     f"{np.median(box_net):.1f} / {np.median(kps_net):.1f}",
                     "MET" if ratio <= TARGET_RATIO else "NOT MET"])
    header = ["runtime", "boxes: end-to-end ms", "landmarks: end-to-end ms", "landmarks / boxes",
              "network ms (boxes / landmarks)", f"<= {TARGET_RATIO}x"]
    return markdown_table(header, rows)


def main(argv=None):
    args = parse_args(argv)
    print(machine_line())
    bgr, note = test_image(shared_dir())
    with tempfile.TemporaryDirectory() as tmp:
        try:
            models = {"boxes": export_ours(args.config, args.weights, f"{tmp}/boxes", 640, False,
                                           args.score_threshold)[0],
                      "landmarks": export_ours(args.kps_config, args.kps_weights, f"{tmp}/kps", 640, False,
                                               args.score_threshold)[0]}
        except WeightsNotFoundError as exc:
            sys.exit(f"error: {exc}")
        print(f"image: {note}; {args.threads} threads; medians of {args.runs} runs; boxes: {args.config} + "
              f"{args.weights}; landmarks: {args.kps_config} + {args.kps_weights}\n")
        print(table(time_entries(entries(models, bgr, args.threads), args.runs, args.warmup)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
