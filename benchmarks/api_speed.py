"""Throughput of the one-line API (``ppdet_face_deploy.FaceDetector``) against the predictor of
``deploy/python/infer.py`` (``Detector``) on the same export: the API must cost nothing measurable.

    python -m benchmarks.api_speed [--model blazeface_fpn_ssh_1000e] [--num_images 50] [--rounds 3]
        [--backends openvino,onnxruntime,paddle] [--threads 2]

Images: the first ``--num_images`` real WIDER val images of the shared folder (their own sizes), else
matplotlib's portrait at varied sizes. Per backend, both paths run on the same decoded BGR images in the same
process, batch 1, in alternating rounds (after one warm-up pass each): ``Detector.predict`` (what infer.py calls)
and ``FaceDetector.detect`` (the API: the same predictor plus the score threshold and the result objects).
Printed: images / s of each (the best round) and the ratio API / infer.py (1.00 = equal).
"""
import argparse
import os
import sys
import time

import cv2

from benchmarks.harness import machine_line, markdown_table, shared_dir
from ppdet_face_deploy import FaceDetector
from ppdet_face_deploy.bundled import DEFAULT_MODEL
from ppdet_face_deploy.images import list_image_files


def _images(num):
    folder = shared_dir() / "data" / "wider_face_real" / "WIDER_val" / "images"
    files = list_image_files(str(folder))[:num] if folder.is_dir() else []
    if files:
        return [cv2.imread(f) for f in files], f"{len(files)} real WIDER val images ({folder})"
    import matplotlib

    portrait = cv2.imread(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))
    sizes = [320 + 40 * (i % 10) for i in range(num)]
    return [cv2.resize(portrait, (s * 512 // 600, s)) for s in sizes], f"{num} resized portraits (no shared folder)"


def _rate(run, images):
    t0 = time.perf_counter()
    for bgr in images:
        run(bgr)
    return len(images) / (time.perf_counter() - t0)


def measure(backend, model, images, rounds, threads):
    """(infer.py's Detector images/s, the API's images/s), best of ``rounds`` alternating rounds."""
    api = FaceDetector(model, backend=backend, cpu_threads=threads)
    detector = api.detector  # the very predictor infer.py builds for this export and these options
    paths = {"infer.py Detector.predict": lambda bgr: detector.predict([bgr]), "FaceDetector.detect": api.detect}
    for run in paths.values():
        _rate(run, images[:5])  # warm-up (oneDNN / OpenVINO shape caches)
    best = dict.fromkeys(paths, 0.0)
    for _ in range(rounds):
        for name, run in paths.items():
            best[name] = max(best[name], _rate(run, images))
    return best["infer.py Detector.predict"], best["FaceDetector.detect"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="bundled model or export folder")
    parser.add_argument("--num_images", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="openvino,onnxruntime,paddle")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    images, what = _images(args.num_images)
    print(machine_line())
    print(f"model {args.model}; {what}; batch 1, {args.threads} threads, best of {args.rounds} rounds\n")
    rows = []
    for backend in args.backends.split(","):
        ref, api = measure(backend, args.model, images, args.rounds, args.threads)
        rows.append([backend, f"{ref:.1f}", f"{api:.1f}", f"{api / ref:.2f}"])
    print(markdown_table(["backend", "infer.py Detector (img/s)", "FaceDetector API (img/s)", "API / infer.py"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
