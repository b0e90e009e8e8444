"""Detection over a video file or a camera stream, into an annotated video."""
import json
import os
import sys

import cv2

from .detector import detection_record
from .preprocess import DeployError
from .visualize import draw_boxes

__all__ = ["VIDEO_EXTS", "frame_batches", "open_capture", "predict_video"]

#: File extensions read as videos (by ``ppdet-face detect``; infer.py takes ``--video_file``).
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


def predict_video(detector, args):
    """Annotate a video file or camera stream into ``<output_dir>/<name>.mp4``.

    Args:
        detector (Detector): the predictor (``batch_size`` frames per call).
        args (argparse.Namespace): the parsed CLI arguments (video_file or camera_id, output_dir,
            threshold, save_results).

    Returns:
        int: 0 when at least one frame was annotated, else 1.

    Raises:
        DeployError: the video cannot be opened or the output cannot be written.
    """
    cap, writer, name, out_path, total = _open(args)
    from tqdm import tqdm

    records, frame_id = [], 0
    bar = tqdm(total=total or None, desc="frames", unit="frame", file=sys.stderr)
    try:
        for frames in frame_batches(cap, detector.batch_size):
            for frame, boxes in zip(frames, detector.predict(frames)):
                writer.write(draw_boxes(frame, boxes, detector.labels, detector.threshold, detector.layout))
                if args.save_results:
                    records.append(detection_record(f"{name}#{frame_id}", boxes, detector.layout, detector.labels,
                                                    detector.threshold, frame.shape))
                frame_id += 1
            bar.update(len(frames))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        bar.close()
        cap.release()
        writer.release()
    if args.save_results:
        with open(os.path.join(args.output_dir, name + "_bbox.json"), "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1)
    print(f"{frame_id} frames annotated into {out_path}")
    return 0 if frame_id else 1


def _open(args):
    """(capture, writer, name, output path, frame count or 0) of ``--video_file`` / ``--camera_id``."""
    source = args.video_file if args.video_file else args.camera_id
    if args.video_file and not os.path.isfile(args.video_file):
        raise DeployError(f"--video_file {args.video_file}: file not found")
    cap, fps, (width, height), total = open_capture(source)
    os.makedirs(args.output_dir, exist_ok=True)
    name = os.path.splitext(os.path.basename(args.video_file))[0] if args.video_file else f"camera_{source}"
    out_path = os.path.join(args.output_dir, name + ".mp4")
    writer = cv2.VideoWriter(out_path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        cap.release()
        raise DeployError(f"cannot write {out_path}")
    return cap, writer, name, out_path, total


def open_capture(source):
    """Open a video file (path) or a camera (int index).

    Returns:
        tuple: (cv2.VideoCapture, frames per second, (width, height), frame count or 0 for a camera).

    Raises:
        DeployError: it cannot be opened.
    """
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise DeployError(f"cannot open {'camera ' + str(source) if isinstance(source, int) else 'video ' + source}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    total = 0 if isinstance(source, int) else int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    return cap, fps, size, total


def frame_batches(cap, batch_size):
    """Lists of up to ``batch_size`` frames until the stream ends."""
    while True:
        frames = []
        while len(frames) < batch_size:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
        if not frames:
            return
        yield frames
