"""``ppdet-face``: the command line of the deploy package (a console script of ``pip install .``).

    ppdet-face detect PATH... [--model NAME|DIR] [--backend auto|onnxruntime|openvino|paddle]
                      [--precision f32|bf16|int8] [--threshold T] [--save DIR] [--json FILE]
                      [--save_crops DIR] [--camera ID] [--cpu_threads N] [--batch_size N]
    ppdet-face models

PATH: image files, folders (searched recursively, a progress bar) and video files, in any mix. Every PATH is
checked before anything runs. ``--save DIR`` writes each picture with its faces drawn (below DIR, at its path
below the folder given) and each video annotated (``DIR/<name>.mp4``); ``--json FILE`` writes one record per
image / frame (the record of ``infer.py``'s bbox.json); ``--save_crops DIR`` each face of each image aligned to
the ArcFace 112 x 112 template (``DIR/<name>_face<i>.jpg``; models with landmarks). Errors are one ``error:`` line
each and exit status 1; outputs are written whole or not at all (the JSON only when every input succeeded).
"""
import argparse
import contextlib
import dataclasses
import json
import os
import sys

import cv2

from .api import FaceDetector
from .bundled import ALIASES, BUNDLED_MODELS, DEFAULT_MODEL, bundled_cards, resolve_model
from .detector import load_infer_cfg
from .images import IMAGE_EXTS, list_image_files
from .preprocess import DeployError, decode_image
from .record import RecordLayout
from .runners import AUTO_ORDER, PRECISIONS
from .video import VIDEO_EXTS, frame_batches, open_capture

__all__ = ["main", "parse_args"]


def parse_args(argv=None):
    """Parse ``ppdet-face`` arguments (subcommands ``detect`` and ``models``)."""
    parser = argparse.ArgumentParser(prog="ppdet-face", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 2)[2])
    sub = parser.add_subparsers(dest="command", required=True)
    det = sub.add_parser("detect", help="find the faces in images, folders, videos or a camera")
    det.add_argument("paths", nargs="*", metavar="PATH", help="image files, folders, video files")
    det.add_argument("--model", default=DEFAULT_MODEL,
                     help=f"bundled model ({', '.join([*BUNDLED_MODELS, *ALIASES])}) or an export folder "
                          "(default: %(default)s)")
    det.add_argument("--backend", default="auto", help=f"auto (f32: first installed of {', '.join(AUTO_ORDER)}; "
                                                       f"bf16 / int8: openvino) | {' | '.join(AUTO_ORDER)} "
                                                       "(default: %(default)s)")
    det.add_argument("--precision", default="f32", help=f"{' | '.join(PRECISIONS)} (bf16 / int8: openvino)")
    det.add_argument("--threshold", type=float, default=None, help="minimum score (default: the model's, 0.5)")
    det.add_argument("--save", default=None, metavar="DIR", help="write pictures / videos with the faces drawn")
    det.add_argument("--json", default=None, metavar="FILE", help="write the detections as JSON")
    det.add_argument("--save_crops", default=None, metavar="DIR",
                     help="write each face aligned to the ArcFace 112x112 template (models with landmarks)")
    det.add_argument("--camera", type=int, default=None, metavar="ID", help="also read camera ID until Ctrl+C")
    det.add_argument("--cpu_threads", type=int, default=None, help="CPU threads (default: all cores)")
    det.add_argument("--batch_size", type=int, default=1, help="images per inference call (default: 1)")
    det.set_defaults(run=_detect)
    models = sub.add_parser("models", help="list the bundled models with their AP and licence")
    models.set_defaults(run=_models)
    return parser.parse_args(argv)


def main(argv=None):
    """Console-script entry point; returns the exit status (0: every input processed)."""
    args = parse_args(argv)
    try:
        return args.run(args)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _outputs(name):
    """What a bundled model returns per face: ``box`` and its record's extra fields (e.g. ``landmarks``)."""
    return " + ".join(["box", *RecordLayout.from_infer_cfg(load_infer_cfg(resolve_model(name))).extras])


def _models(args):
    """Print the bundled models: name, title, outputs, AP on the 200 real WIDER val images, licence."""
    rows = [(name + (" (default)" if name == DEFAULT_MODEL else ""), card["title"], _outputs(name),
             " / ".join(f"{v:.3f}" for v in card["wider_real_ap"]["single_scale"]),
             " / ".join(f"{v:.3f}" for v in card["wider_real_ap"]["multi_scale"]), card["licence"])
            for name, card in bundled_cards().items()]
    head = ("model", "title", "outputs", "AP single-scale", "AP multi-scale", "licence")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print("AP: easy / medium / hard, official WIDER FACE protocol on 200 real val images (model cards: "
          "model_card.md in each model folder). Short names: "
          + ", ".join(f"{k} = {v}" for k, v in ALIASES.items()))
    return 0


@dataclasses.dataclass
class _Run:
    """What one ``detect`` run has produced so far."""

    records: list = dataclasses.field(default_factory=list)
    failures: int = 0
    images: int = 0
    frames: int = 0


def _detect(args):
    images, videos = _inputs(args.paths)
    if not images and not videos and args.camera is None:
        raise DeployError("nothing to do: give image files, folders or videos (PATH...), or --camera ID")
    detector = FaceDetector(args.model, args.backend, args.precision, args.threshold, args.cpu_threads,
                            batch_size=args.batch_size)
    if args.save_crops and "landmarks" not in detector.detector.layout.fields:
        raise DeployError(f"--save_crops needs a model with landmarks; {args.model}'s record has "
                          f"{', '.join(detector.detector.layout.fields)}")
    run = _Run()
    _detect_images(detector, images, args, run)
    for video in videos:
        _detect_video(detector, video, args, run)
    if args.camera is not None:
        _detect_video(detector, args.camera, args, run)
    summary = f"{run.images} images, {run.frames} video frames" + (f", {run.failures} failed" if run.failures else "")
    if run.failures:
        print(f"error: {summary}" + (f"; {args.json} not written" if args.json else ""), file=sys.stderr)
        return 1
    if args.json:
        _write_atomic(args.json, lambda tmp: _dump_json(tmp, run.records))
    print(f"done: {summary}" + (f"; pictures in {args.save}" if args.save else "")
          + (f"; detections in {args.json}" if args.json else ""))
    return 0


def _inputs(paths):
    """(images as (path, output name), videos) of ``paths``, all checked before anything runs.

    Raises:
        DeployError: a path that does not exist, a folder without images, or a file that is neither.
    """
    images, videos = [], []
    for path in paths:
        if os.path.isdir(path):
            found = list_image_files(path)
            if not found:
                raise DeployError(f"{path}: no images below it ({', '.join(IMAGE_EXTS)})")
            images += [(f, os.path.relpath(f, path)) for f in found]
        elif not os.path.exists(path):
            raise DeployError(f"{path}: no such file or folder")
        elif path.lower().endswith(IMAGE_EXTS):
            images.append((path, os.path.basename(path)))
        elif path.lower().endswith(VIDEO_EXTS):
            videos.append(path)
        else:
            raise DeployError(f"{path}: not an image ({', '.join(IMAGE_EXTS)}) or a video ({', '.join(VIDEO_EXTS)})")
    return images, videos


def _detect_images(detector, images, args, run):
    """Detect batch by batch; one line per image (``path: K faces``), a progress bar for several."""
    from tqdm import tqdm

    with tqdm(total=len(images), desc="images", unit="img", file=sys.stderr, disable=len(images) < 2) as bar:
        step = detector.detector.batch_size
        for start in range(0, len(images), step):
            batch = []
            for path, name in images[start:start + step]:
                try:
                    batch.append((path, name, decode_image(path)))
                except DeployError as exc:
                    bar.write(f"error: {exc}", file=sys.stderr)
                    run.failures += 1
            faces = detector.detect([bgr for _, _, bgr in batch]) if batch else []
            for (path, name, _), found in zip(batch, faces):
                found = dataclasses.replace(found, source=path)
                bar.write(f"{path}: {len(found)} faces")
                run.images += 1
                run.records.append(found.to_dict())
                if args.save:
                    out = os.path.join(args.save, name)
                    _write_atomic(out, lambda tmp, f=found: _imwrite(tmp, f.draw()))
                if args.save_crops:
                    stem = os.path.splitext(name)[0]
                    for i, crop in enumerate(found.crops()):
                        _write_atomic(os.path.join(args.save_crops, f"{stem}_face{i}.jpg"),
                                      lambda tmp, c=crop: _imwrite(tmp, c))
            bar.update(len(images[start:start + step]))


def _detect_video(detector, source, args, run):
    """Detect on every frame of a video file or camera (until Ctrl+C); ``--save``: an annotated video."""
    cap, fps, size, total = open_capture(source)
    name = f"camera_{source}" if isinstance(source, int) else os.path.splitext(os.path.basename(source))[0]
    out = os.path.join(args.save, name + ".mp4") if args.save else None
    from tqdm import tqdm

    partial = out + ".partial.mp4" if out else None
    try:
        with contextlib.ExitStack() as stack:
            stack.callback(cap.release)
            writer = _video_writer(partial, fps, size, stack) if out else None
            bar = stack.enter_context(tqdm(total=total or None, desc=name, unit="frame", file=sys.stderr))
            try:
                for frames in frame_batches(cap, detector.detector.batch_size):
                    for found in detector.detect(frames):
                        run.records.append(dict(found.to_dict(), image_file=f"{source}#{run.frames}"))
                        run.frames += 1
                        if writer is not None:
                            writer.write(found.draw())
                    bar.update(len(frames))
            except KeyboardInterrupt:
                if not isinstance(source, int):
                    raise
        if out:
            os.replace(partial, out)
            print(f"{source}: annotated video {out}")
    finally:
        if partial and os.path.exists(partial):
            os.remove(partial)


def _video_writer(path, fps, size, stack):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise DeployError(f"{path}: cannot write a video there")
    stack.callback(writer.release)
    return writer


def _write_atomic(path, write):
    """Write ``path`` through a temporary file beside it (same extension) and a rename: whole or not at all."""
    folder, base = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, ext = os.path.splitext(base)
    tmp = os.path.join(folder, f".{stem}.partial{ext}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _imwrite(path, bgr):
    if not cv2.imwrite(path, bgr):
        raise DeployError(f"{path}: cannot write the picture")


def _dump_json(path, records):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
