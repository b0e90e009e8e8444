"""Five-point landmark accuracy on real faces with 68-point ground truth (``<shared>/data/dlib_faces``):

    python -m benchmarks.landmarks_nme [--threads 2]

Every detector with a landmark output runs at each photo's own size; its points are compared with the ground truth
reduced to five (eval_tools.landmarks: eye centres, nose tip, mouth corners), on the faces its boxes match (IoU >=
0.5). Printed: faces matched / total, mean NME (mean point error / sqrt(box w x h)) and the failure rate (NME > 0.1).
Our bundled models are listed with their record: they have no landmark output yet (issue #21).
"""
import argparse
import sys

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
    args = parser.parse_args(argv)
    folder = shared_dir() / "data" / "dlib_faces"
    try:
        faces = ground_truth(folder)
    except BenchmarkError as exc:
        sys.exit(f"error: {exc}")
    rows = []
    try:
        rows.append(peer_row(YuNet(threads=args.threads), folder, faces))
    except PeerError as exc:
        rows.append([YuNet.name, f"skipped: {exc}"])
    from ppdet_face_deploy.bundled import BUNDLED_MODELS, resolve_model
    from ppdet_face_deploy.detector import load_infer_cfg
    from ppdet_face_deploy.record import RecordLayout

    for name in BUNDLED_MODELS:
        layout = RecordLayout.from_infer_cfg(load_infer_cfg(resolve_model(name)))
        if "landmarks" not in layout.fields:
            rows.append([f"ours: {name}", f"skipped: no landmark output (record: {', '.join(layout.fields)})"])
    print(machine_line())
    print(f"{sum(len(f.boxes) for f in faces)} faces with 68-point ground truth in {len(faces)} photos of {folder}\n")
    print(markdown_table(["detector", "faces matched / total", "NME mean", "failure rate (NME > 0.1)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
