"""Five-point landmark accuracy on real faces with 68-point ground truth (``<shared>/data/dlib_faces``):

    python -m benchmarks.landmarks_nme [--threads 2] [--synthetic_val 60]

Every detector with a landmark output runs at each photo's own size; its points are compared with the ground truth
reduced to five (eval_tools.landmarks: eye centres, nose tip, mouth corners), on the faces its boxes match (IoU >=
0.5). A second table does the same on a synthetic val set (``make_synthetic_wider``'s exact points, seed 0).
Printed: faces matched / total, mean NME (mean point error / sqrt(box w x h)) and the failure rate (NME > 0.1).
Our bundled models are listed with their record: they have no landmark output yet (issue #21).
"""
import argparse
import sys
import tempfile
from pathlib import Path

import cv2

from benchmarks.harness import BenchmarkError, machine_line, markdown_table, shared_dir
from benchmarks.peers import PeerError, YuNet
from eval_tools.landmarks import evaluate_landmarks, read_dlib_landmarks


def ground_truth(folder):
    """The dlib faces with 68 landmarks (training and testing files)."""
    faces = []
    for name in ("training_with_face_landmarks.xml", "testing_with_face_landmarks.xml"):
        path = folder / name
        if not path.is_file():
            raise BenchmarkError(f"{path} not found (set PPDET_FACE_SHARED)")
        faces += read_dlib_landmarks(str(path))
    return faces


def synthetic_ground_truth(root, num_val):
    """A seeded synthetic val set in ``root`` and its exact landmarks."""
    from eval_tools.boxes import xywh_to_corners
    from eval_tools.landmarks import LandmarkFaces
    from eval_tools.retinaface_labels import read_retinaface_labels
    from ppdet_face.data.synthetic import generate_wider_dataset

    generate_wider_dataset(root, num_train=0, num_val=num_val, seed=0, progress=False)
    return [LandmarkFaces(im.name, xywh_to_corners(im.boxes), im.points)
            for im in read_retinaface_labels(root / "retinaface" / "val" / "label.txt") if len(im.boxes)]


def peer_row(peer, folder, faces):
    predictions = {}
    for item in faces:
        bgr = cv2.imread(str(folder / item.image))
        if bgr is None:
            raise BenchmarkError(f"cannot read image {folder / item.image}")
        predictions[item.image] = peer.detect_landmarks(bgr)
    result = evaluate_landmarks(predictions, faces)
    return [peer.name, f"{result.matched} / {result.total}", f"{result.mean:.4f}", f"{result.failure_rate:.3f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--synthetic_val", type=int, default=60, help="synthetic val images (0: none)")
    args = parser.parse_args(argv)
    folder = shared_dir() / "data" / "dlib_faces"
    try:
        faces = ground_truth(folder)
    except BenchmarkError as exc:
        sys.exit(f"error: {exc}")
    print(machine_line())
    print(f"{sum(len(f.boxes) for f in faces)} faces with 68-point ground truth in {len(faces)} photos of {folder}\n")
    print(markdown_table(HEADER, detector_rows(folder, faces, args.threads)))
    if args.synthetic_val:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            synthetic = synthetic_ground_truth(root, args.synthetic_val)
            print(f"\n{sum(len(f.boxes) for f in synthetic)} faces with exact points in {len(synthetic)} synthetic val "
                  "images (seed 0)\n")
            print(markdown_table(HEADER, detector_rows(root / "WIDER_val" / "images", synthetic, args.threads)))
    return 0


HEADER = ["detector", "faces matched / total", "NME mean", "failure rate (NME > 0.1)"]


def detector_rows(folder, faces, threads):
    """One table row per detector: the peers with landmarks, then our bundled models."""
    rows = []
    try:
        rows.append(peer_row(YuNet(threads=threads), folder, faces))
    except PeerError as exc:
        rows.append([YuNet.name, f"skipped: {exc}"])
    from ppdet_face_deploy.bundled import BUNDLED_MODELS, resolve_model
    from ppdet_face_deploy.detector import load_infer_cfg
    from ppdet_face_deploy.record import RecordLayout

    for name in BUNDLED_MODELS:
        layout = RecordLayout.from_infer_cfg(load_infer_cfg(resolve_model(name)))
        if "landmarks" not in layout.fields:
            rows.append([f"ours: {name}", f"skipped: no landmark output (record: {', '.join(layout.fields)})"])
    return rows


if __name__ == "__main__":
    sys.exit(main())
