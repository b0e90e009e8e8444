"""Model zoo table: parameters, GFLOPs and CPU latency of every detector family at 640 x 640.

For each config: seeded random weights (``init_random_weights``; latency does not depend on the values
beyond the number of boxes reaching NMS, which the calibration keeps similar), export with a fixed
640 x 640 input (Paddle + ONNX, decode and NMS inside), then:

* parameters: trainable tensors of the dygraph model;
* GFLOPs: ``devtools.flops.count_flops`` on the ONNX export (2 x multiply-accumulates of Conv / MatMul);
* latency: median end-to-end ms of the exported model, batch 1, ``--threads`` threads, in Paddle
  Inference + oneDNN and in ONNX Runtime (after warm-up runs; at least ``--min_runs`` runs and
  ``--min_seconds`` seconds each).

``python -m benchmarks.model_zoo [--threads 2] [--configs a.yml b.yml]`` prints a markdown table.
"""
import argparse
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

from benchmarks.harness import machine_line, markdown_table
from benchmarks.peers import ort_session

REPO = pathlib.Path(__file__).resolve().parents[1]

CONFIGS = [("BlazeFace", "blazeface_1000e.yml"), ("BlazeFace-FPN-SSH", "blazeface_fpn_ssh_1000e.yml"),
           ("SSH MobileNetV1", "ssh_mobilenet_v1_wider.yml"), ("SSH MobileNetV2", "ssh_mobilenet_v2_wider.yml"),
           ("SSH ResNet-50", "ssh_resnet50_wider.yml"), ("SSH VGG16", "ssh_vgg16_wider.yml")]
SIZE = 640


def export(config, out_dir):
    """Seeded random weights, fixed 640 x 640 export; returns ``(export dir, trainable parameters)``."""
    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import build_model
    from ppdet_face.export import export_model

    cfg = load_config(str(REPO / "configs" / "face_detection" / config))
    cfg["weights"] = None
    model, _ = build_model(cfg, allow_random_weights=True)
    params = sum(int(np.prod(p.shape)) for p in model.parameters() if p.trainable)
    return export_model(model, cfg, out_dir, fmt="onnx", fixed_shape=SIZE, random_weights=True), params


def paddle_runner(save_dir, threads):
    from paddle.inference import Config, create_predictor

    config = Config(os.path.join(save_dir, "model.json"), os.path.join(save_dir, "model.pdiparams"))
    config.disable_gpu()
    config.enable_mkldnn()
    config.set_cpu_math_library_num_threads(threads)
    config.disable_glog_info()
    predictor = create_predictor(config)

    def run(feed):
        for name in predictor.get_input_names():
            handle = predictor.get_input_handle(name)
            handle.reshape(feed[name].shape)
            handle.copy_from_cpu(feed[name])
        predictor.run()
        return predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()

    return run


def ort_runner(save_dir, threads):
    session = ort_session(os.path.join(save_dir, "model.onnx"), threads)
    return lambda feed: session.run(None, feed)


def median_ms(run, feed, min_runs, min_seconds, warmup=3):
    """Median wall time of ``run(feed)`` in ms over at least ``min_runs`` runs and ``min_seconds`` s."""
    for _ in range(warmup):
        run(feed)
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        run(feed)
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times))


def measure(name, config, out_dir, args):
    """One table row: name, parameters (M), GFLOPs, Paddle + oneDNN ms, ONNX Runtime ms."""
    from devtools.flops import count_flops

    save_dir, params = export(config, out_dir)
    gflops = count_flops(os.path.join(save_dir, "model.onnx"), {"image": [1, 3, SIZE, SIZE]})["flops"] / 1e9
    rng = np.random.RandomState(0)
    feed = {"image": rng.randn(1, 3, SIZE, SIZE).astype(np.float32),
            "im_shape": np.array([[SIZE, SIZE]], np.float32), "scale_factor": np.ones((1, 2), np.float32)}
    paddle_ms = median_ms(paddle_runner(save_dir, args.threads), feed, args.min_runs, args.min_seconds)
    ort_ms = median_ms(ort_runner(save_dir, args.threads), feed, args.min_runs, args.min_seconds)
    return name, params / 1e6, gflops, paddle_ms, ort_ms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min_runs", type=int, default=10)
    parser.add_argument("--min_seconds", type=float, default=3.0)
    parser.add_argument("--configs", nargs="*", help="config file names (default: the whole zoo)")
    args = parser.parse_args(argv)
    zoo = [(n, c) for n, c in CONFIGS if not args.configs or c in args.configs]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in zoo:
            rows.append(measure(name, config, tmp, args))
            print(f"measured {name}", file=sys.stderr, flush=True)
    print(machine_line())
    print(markdown_table(["model", "params (M)", f"GFLOPs @{SIZE}", "Paddle + oneDNN ms", "ONNX Runtime ms"],
                         [[name, f"{params:.2f}", f"{gflops:.1f}", f"{paddle_ms:.1f}", f"{ort_ms:.1f}"]
                          for name, params, gflops, paddle_ms, ort_ms in rows]))
    print(f"\nbatch 1, {SIZE}x{SIZE}, {args.threads} threads, end to end (decode + NMS inside), median.")


if __name__ == "__main__":
    main()
