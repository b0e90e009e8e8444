"""Five landmarks for the faces of a WIDER-layout split, from a pretrained five-point detector (a peer):

    python tools/label_landmarks.py [--dataset_dir ../shared/data/wider_face_real] [--split train]
        [--peer yunet | retinaface_mnet025 | scrfd_500m | scrfd_2.5g] [--model <file>]
        [--out output/landmarks/<split>_label.txt] [--score_threshold 0.5]

Each ground-truth face that one of the peer's detections overlaps with IoU >= 0.5 takes its five points; the others
get none (-1 in the file). Writes RetinaFace's label.txt layout (eval_tools/retinaface_labels.py) and prints how many
faces got landmarks. Peers (benchmarks/peers.py, their files under <shared>/peers): YuNet (cv2.FaceDetectorYN, each
image at its own size; MIT), RetinaFace-mnet0.25 (640 letterbox; MIT), SCRFD-500m / 2.5g (640 letterbox;
InsightFace's weights, non-commercial research). `python -m benchmarks.landmarks_nme` measures each peer's points.
"""
import argparse
import os
import sys


def parse_args(argv=None):
    from benchmarks.peers import LANDMARK_PEERS
    from ppdet_face.utils.shared import shared_dir

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset_dir", default=str(shared_dir() / "data" / "wider_face_real"))
    p.add_argument("--split", default="train", choices=["train", "val"])
    p.add_argument("--peer", default="yunet", choices=LANDMARK_PEERS)
    p.add_argument("--model", default=None, help="the peer's model file (default: <shared>/peers/<its file>)")
    p.add_argument("--out", default=None, help="default: output/landmarks/<split>_label.txt")
    p.add_argument("--score_threshold", type=float, default=0.5)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from benchmarks.peers import PEERS, PeerError
    from eval_tools.retinaface_labels import write_retinaface_labels
    from eval_tools.wider_format import WiderFormatError
    from ppdet_face.data.landmark_labels import label_wider_split

    out = args.out or os.path.join("output", "landmarks", f"{args.split}_label.txt")
    try:
        peer = PEERS[args.peer](threads=os.cpu_count() or 1, score_threshold=args.score_threshold, path=args.model)
        labelled = label_wider_split(args.dataset_dir, args.split, peer.detect_landmarks)
    except (FileNotFoundError, WiderFormatError, PeerError) as exc:
        sys.exit(f"error: {exc}")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    write_retinaface_labels(out, labelled)
    faces = sum(len(im.boxes) for im in labelled)
    with_points = sum(int(im.has_points.sum()) for im in labelled)
    print(f"wrote {out}: {len(labelled)} images, {faces} faces, {with_points} with landmarks "
          f"({with_points / max(faces, 1):.1%}) from {peer.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
