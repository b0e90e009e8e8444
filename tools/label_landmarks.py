"""Five landmarks for the faces of a WIDER-layout split, from a pretrained five-point detector (YuNet):

    python tools/label_landmarks.py [--dataset_dir ../shared/data/wider_face_real] [--split train]
        [--model <shared>/peers/yunet/face_detection_yunet_2026may.onnx] [--out output/landmarks/train_label.txt]
        [--score_threshold 0.5]

Each ground-truth face that a YuNet detection overlaps with IoU >= 0.5 takes its five points; the others get none
(-1 in the file). Writes RetinaFace's label.txt layout (eval_tools/retinaface_labels.py) and prints how many faces
got landmarks. numpy + OpenCV only.
"""
import argparse
import os
import sys


def parse_args(argv=None):
    from ppdet_face.utils.shared import shared_dir

    shared = shared_dir()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset_dir", default=str(shared / "data" / "wider_face_real"))
    p.add_argument("--split", default="train", choices=["train", "val"])
    p.add_argument("--model", default=str(shared / "peers" / "yunet" / "face_detection_yunet_2026may.onnx"))
    p.add_argument("--out", default=None, help="default: output/landmarks/<split>_label.txt")
    p.add_argument("--score_threshold", type=float, default=0.5)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from eval_tools.retinaface_labels import write_retinaface_labels
    from eval_tools.wider_format import WiderFormatError
    from ppdet_face.data.landmark_labels import YuNetLandmarks, label_wider_split

    out = args.out or os.path.join("output", "landmarks", f"{args.split}_label.txt")
    try:
        labelled = label_wider_split(args.dataset_dir, args.split, YuNetLandmarks(args.model, args.score_threshold))
    except (FileNotFoundError, WiderFormatError) as exc:
        sys.exit(f"error: {exc}")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    write_retinaface_labels(out, labelled)
    faces = sum(len(im.boxes) for im in labelled)
    with_points = sum(int(im.has_points.sum()) for im in labelled)
    print(f"wrote {out}: {len(labelled)} images, {faces} faces, {with_points} with landmarks "
          f"({with_points / max(faces, 1):.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
