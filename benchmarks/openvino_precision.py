"""OpenVINO precisions next to ONNX Runtime: ms per 640x640 image and agreement with the dygraph model.

    python -m benchmarks.openvino_precision --model_dir <export with model.onnx [+ model_int8.xml]>
        [-c configs/face_detection/blazeface_fpn_ssh_demo.yml -o weights=<w> | --random_seed 1]
        [--images 20] [--runs 30] [--threads 2]

Each image of ``<shared>/data/wider_face_real/WIDER_val/images`` (the first --images, sorted) is resized
to 640x640 and run by the dygraph model (``InferenceDetector``, the reference) and by each runner
of ``deploy/python``: ONNX Runtime f32, OpenVINO f32 / bf16 / int8 (int8 when ``infer_cfg.yml``
records a quantized model, ``tools/quantize.py``). Agreement: the boxes scoring >= 0.5 in either,
each reference box matched to its best-IoU output box. Speed: network-only ms (the runner call,
decode + NMS included) on the first image, medians of --runs round-robin runs over the runners
after 5 warm-up calls each (so OpenVINO's static-shape compilation is done), ratio against ONNX
Runtime measured in the same run. Under load absolute ms are contaminated; the ratios less so.
"""
import argparse
import glob
import os
import pathlib
import sys
import time

import cv2
import numpy as np

from benchmarks.harness import machine_line, markdown_table, shared_dir
from eval_tools.boxes import box_iou

REPO = pathlib.Path(__file__).resolve().parents[1]

MODES = (("onnxruntime", "f32"), ("openvino", "f32"), ("openvino", "bf16"), ("openvino", "int8"))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model_dir", required=True)
    p.add_argument("-c", "--config", default=str(REPO / "configs/face_detection/blazeface_fpn_ssh_demo.yml"))
    p.add_argument("-o", "--opt", nargs="*", default=[], help="config overrides, e.g. weights=<path>")
    p.add_argument("--random_seed", type=int, default=None,
                   help="reference = seeded random weights as tests/helpers.export_random_model (no -o weights)")
    p.add_argument("--images", type=int, default=20)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def reference_model(args):
    """The dygraph detector whose export --model_dir is."""
    from ppdet_face.engine import load_config
    from ppdet_face.engine.weights import WeightsError, build_model
    from ppdet_face.export import InferenceDetector

    cfg = load_config(args.config, args.opt)
    random = args.random_seed is not None
    if random:
        cfg["weights"] = None
    try:
        model, _ = build_model(cfg, allow_random_weights=random, seed=args.random_seed or 0,
                               random_flag="--random_seed N for a seeded random export")
    except WeightsError as exc:
        sys.exit(f"error: {exc}")
    return InferenceDetector(model)


def inputs_640(model_dir, count):
    """Model inputs (batch of one) of the first ``count`` WIDER val images resized to 640x640."""
    from ppdet_face_deploy.detector import load_infer_cfg
    from ppdet_face_deploy.preprocess import Pipeline

    shared = str(shared_dir())
    files = sorted(glob.glob(os.path.join(shared, "data/wider_face_real/WIDER_val/images/*/*.jpg")))[:count]
    if not files:
        sys.exit(f"error: no WIDER val images below {shared} (set PPDET_FACE_SHARED)")
    pipeline = Pipeline(load_infer_cfg(model_dir)["Preprocess"], max_side=0)
    out = []
    for path in files:
        chw, info = pipeline(cv2.resize(cv2.imread(path), (640, 640), interpolation=cv2.INTER_LINEAR))
        out.append({"image": chw[None], "im_shape": info["im_shape"][None], "scale_factor": info["scale_factor"][None]})
    return out


def agreement(refs, outs, threshold=0.5):
    """Boxes >= threshold (reference, output), share of reference boxes matched at IoU >= 0.5, median / max
    score difference and max coordinate difference (px) of the matched ones."""
    n_ref = n_out = matched = 0
    dscore, dcoord = [0.0], [0.0]
    for ref, out in zip(refs, outs):
        ref, out = ref[ref[:, 1] >= threshold], out[out[:, 1] >= threshold]
        n_ref, n_out = n_ref + len(ref), n_out + len(out)
        for row in ref:
            iou = box_iou(row[2:6], out[:, 2:6]) if len(out) else np.zeros(1)
            k = int(iou.argmax())
            if iou[k] >= 0.5:
                matched += 1
                dscore.append(abs(row[1] - out[k, 1]))
                dcoord.append(float(np.abs(row[2:] - out[k, 2:]).max()))
    return {"ref": n_ref, "out": n_out, "matched": matched / max(n_ref, 1), "dscore_med": float(np.median(dscore)),
            "dscore_max": max(dscore), "dcoord_max": max(dcoord)}


def make_runners(model_dir, threads):
    from ppdet_face_deploy.detector import load_infer_cfg
    from ppdet_face_deploy.preprocess import DeployError
    from ppdet_face_deploy.runners import DetectorOptions, create_runner

    cfg, runners = load_infer_cfg(model_dir), {}
    for backend, precision in MODES:
        try:
            runners[f"{backend} {precision}"] = create_runner(
                model_dir, cfg, DetectorOptions(backend=backend, cpu_threads=threads, precision=precision))
        except DeployError as exc:
            print(f"skipped {backend} {precision}: {exc}")
    return runners


def time_runners(runners, feed, runs):
    times = {name: [] for name in runners}
    for run in runners.values():
        for _ in range(5):
            run(feed)
    for _ in range(runs):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run(feed)
            times[name].append((time.perf_counter() - t0) * 1000)
    return {name: float(np.median(t)) for name, t in times.items()}


def main(argv=None):
    args = parse_args(argv)
    import paddle

    paddle.set_device("cpu")
    feeds = inputs_640(args.model_dir, args.images)
    model = reference_model(args)
    with paddle.no_grad():
        refs = [model({k: paddle.to_tensor(v) for k, v in f.items()})[0].numpy() for f in feeds]
    runners = make_runners(args.model_dir, args.threads)
    ms = time_runners(runners, feeds[0], args.runs)
    base = ms.get("onnxruntime f32", 1.0)
    print(f"load average {os.getloadavg()[0]:.1f}; {len(feeds)} images 640x640; threads {args.threads}")
    rows = []
    for name, run in runners.items():
        a = agreement(refs, [run(f)[0] for f in feeds])
        rows.append([name, f"{ms[name]:.1f}", f"{ms[name] / base:.2f}", f"{a['ref']} / {a['out']}",
                     f"{a['matched']:.3f}", f"{a['dscore_med']:.4f} / {a['dscore_max']:.4f}", f"{a['dcoord_max']:.2f}"])
    print(machine_line())
    print(markdown_table(["runtime", "ms / image", "vs ORT f32", "boxes >= 0.5 (ref / out)", "matched",
                          "score diff median / max", "max coord diff px"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
