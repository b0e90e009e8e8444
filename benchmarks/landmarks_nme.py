"""Five-point landmark accuracy on real faces with 68-point ground truth (``<shared>/data/dlib_faces``):

    python -m benchmarks.landmarks_nme [--threads 2] [--synthetic_val 60] [--models NAME_OR_EXPORT_DIR ...]

Every detector with a landmark output (YuNet at each photo's own size, RetinaFace-mnet0.25 and SCRFD-500m / 2.5g
at 640 letterbox, as in the WIDER tables; ours at the photo's own size); its points are compared with the ground truth
reduced to five (eval_tools.landmarks: eye centres, nose tip, mouth corners), on the faces its boxes match (IoU >=
0.5). A second table does the same on a synthetic val set (``make_synthetic_wider``'s exact points, seed 0).
Printed: faces matched / total, mean NME (mean point error / sqrt(box w x h)) and the failure rate (NME > 0.1).
Ours: the bundled models and any export folder given with ``--models`` (e.g. the landmark model exported by
``tools/export_model.py``), through the Python API (``--backend``, default OpenVINO f32, which needs the export's
``model.onnx``), at the peers' score threshold; a model without a landmark output is listed with its record.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import cv2

from benchmarks.harness import BenchmarkError, machine_line, markdown_table, shared_dir
from benchmarks.peers import EVAL_SCORE_THRESHOLD, LANDMARK_PEERS, PEERS, PeerError
from eval_tools.landmarks import evaluate_landmarks, read_dlib_landmarks, read_label_landmarks


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
    from ppdet_face.data.synthetic import generate_wider_dataset

    generate_wider_dataset(root, num_train=0, num_val=num_val, seed=0, progress=False)
    return read_label_landmarks(root / "retinaface" / "val" / "label.txt")


def measure_landmarks(detect, folder, faces):
    """``eval_tools.landmarks.NmeResult`` of ``detect(bgr) -> (boxes, scores, points)`` on the images of ``faces``
    (``LandmarkFaces``) in ``folder``.

    Raises:
        BenchmarkError: an image that cannot be read.
    """
    predictions = {}
    for item in faces:
        bgr = cv2.imread(str(Path(folder) / item.image))
        if bgr is None:
            raise BenchmarkError(f"cannot read image {Path(folder) / item.image}")
        predictions[item.image] = detect(bgr)
    return evaluate_landmarks(predictions, faces)


def landmark_row(name, detect, folder, faces):
    """``[name, matched / total, NME mean, failure rate]`` of ``detect(bgr) -> (boxes, scores, points)``."""
    result = measure_landmarks(detect, folder, faces)
    return [name, f"{result.matched} / {result.total}", f"{result.mean:.4f}", f"{result.failure_rate:.3f}"]


def ours_detect(model, threads, backend="openvino", threshold=EVAL_SCORE_THRESHOLD):
    """``detect(bgr) -> (boxes, scores, points)`` of our export ``model`` (name or folder) at score ``threshold``,
    or None without landmarks; and its record's field names."""
    from ppdet_face_deploy import FaceDetector

    detector = FaceDetector(model=model, backend=backend, threshold=threshold, cpu_threads=threads)
    fields = tuple(detector.detector.layout.fields)
    if "landmarks" not in fields:
        return None, fields

    def detect(bgr):
        faces = detector.detect(bgr)
        return faces.boxes, faces.scores, faces.landmarks
    return detect, fields


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--synthetic_val", type=int, default=60, help="synthetic val images (0: none)")
    parser.add_argument("--models", nargs="*", default=[],
                        help="our export folders (tools/export_model.py) or bundled names, after the bundled ones")
    parser.add_argument("--backend", default="openvino", help="the runtime of ours (ppdet_face_deploy backends)")
    args = parser.parse_args(argv)
    from ppdet_face_deploy.preprocess import DeployError

    try:
        print_tables(args)
    except (BenchmarkError, DeployError) as exc:
        sys.exit(f"error: {exc}")
    return 0


def print_tables(args):
    """The dlib table, then the synthetic one."""
    folder = shared_dir() / "data" / "dlib_faces"
    faces = ground_truth(folder)
    print(machine_line())
    print(f"{sum(len(f.boxes) for f in faces)} faces with 68-point ground truth in {len(faces)} photos of {folder}\n")
    print(markdown_table(HEADER, detector_rows(folder, faces, args.threads, args.models, args.backend)))
    if not args.synthetic_val:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synthetic = synthetic_ground_truth(root, args.synthetic_val)
        print(f"\n{sum(len(f.boxes) for f in synthetic)} faces with exact points in {len(synthetic)} synthetic val "
              "images (seed 0)\n")
        print(markdown_table(HEADER, detector_rows(root / "WIDER_val" / "images", synthetic, args.threads,
                                                   args.models, args.backend)))


HEADER = ["detector", "faces matched / total", "NME mean", "failure rate (NME > 0.1)"]


def detector_rows(folder, faces, threads, models=(), backend="openvino"):
    """One table row per detector: the peers with landmarks, then our bundled models and ``models``."""
    rows = []
    for cls in (PEERS[key] for key in LANDMARK_PEERS):  # each at its input protocol, EVAL_SCORE_THRESHOLD
        try:
            peer = cls(threads=threads)
        except PeerError as exc:
            rows.append([cls.name, f"skipped: {exc}"])
            continue
        rows.append(landmark_row(f"{peer.name} ({peer.input})", peer.detect_landmarks, folder, faces))
    from ppdet_face_deploy.bundled import BUNDLED_MODELS

    for model in [*BUNDLED_MODELS, *models]:
        detect, fields = ours_detect(model, threads, backend)
        name = f"ours: {Path(model).name}"
        if detect is None:
            rows.append([name, f"skipped: no landmark output (record: {', '.join(fields)})"])
        else:
            rows.append(landmark_row(name, detect, folder, faces))
    return rows


if __name__ == "__main__":
    sys.exit(main())
