"""Detection over image files: listing ``--image_dir``, batching, pictures and ``bbox.json``."""
import json
import os
import sys

import cv2

from .align import align_face
from .detector import detection_record
from .preprocess import DeployError, decode_image
from .visualize import draw_boxes

__all__ = ["IMAGE_EXTS", "collect_images", "list_image_files", "output_path", "predict_images"]

# deploy may not import ppdet_face or eval_tools (its only contract is the exported folder), so it keeps
# its own copy of eval_tools.wider_format.IMAGE_EXTENSIONS; tests/deploy/test_images.py checks they agree.
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def list_image_files(folder):
    """The image files below ``folder``, subfolders included, sorted by their path below it.

    Args:
        folder (str): the folder.

    Returns:
        list[str]: paths ``folder/<sub>/.../<name>`` of the files with an extension of ``IMAGE_EXTS``
        (any case), in sorted order of their path components (deterministic). Hidden files and
        folders (name starting with ``.``) are skipped; symlinked files count, symlinked folders are
        not entered.
    """
    found = []
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [os.path.join(dirpath, f) for f in files
                  if f.lower().endswith(IMAGE_EXTS) and not f.startswith(".")]
    found = [f for f in found if os.path.isfile(f)]
    return sorted(found, key=lambda f: os.path.relpath(f, folder).split(os.sep))


def collect_images(args):
    """The files of ``--image_file`` and ``--image_dir``, in that order.

    Args:
        args (argparse.Namespace): the parsed CLI arguments.

    Returns:
        list[str]: the image paths.

    Raises:
        DeployError: ``--image_dir`` is not a folder or holds no image.
    """
    files = []
    if args.image_file:
        files.append(args.image_file)
    if args.image_dir:
        if not os.path.isdir(args.image_dir):
            raise DeployError(f"--image_dir {args.image_dir}: not a directory")
        found = list_image_files(args.image_dir)
        if not found:
            raise DeployError(f"--image_dir {args.image_dir}: no images ({', '.join(IMAGE_EXTS)})")
        files.extend(found)
    return files


def output_path(path, args):
    """Where the visualised image of ``path`` goes: its path below --image_dir, else its name."""
    if args.image_dir:
        rel = os.path.relpath(path, args.image_dir)
        if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
            return os.path.join(args.output_dir, rel)
    return os.path.join(args.output_dir, os.path.basename(path))


def predict_images(detector, files, args):
    """Detect on files batch by batch; per-file errors are reported and skipped.

    Args:
        detector (Detector): the predictor.
        files (list[str]): image paths.
        args (argparse.Namespace): the parsed CLI arguments (threshold, output_dir, save_images,
            save_results, image_dir).

    Returns:
        int: the number of failures (unreadable images, pictures that could not be written).
    """
    if args.save_images or args.save_results:
        os.makedirs(args.output_dir, exist_ok=True)
    failures, records = 0, []
    show_each = len(files) == 1
    bar = None
    if not show_each:
        from tqdm import tqdm

        bar = tqdm(total=len(files), desc="images", unit="img", file=sys.stderr)
    for start in range(0, len(files), detector.batch_size):
        if bar is not None and start:
            bar.update(detector.batch_size)
        batch = files[start:start + detector.batch_size]
        decoded, names = _decode(batch, bar)
        failures += len(batch) - len(names)
        if not decoded:
            continue
        for path, bgr, boxes in zip(names, decoded, detector.predict(decoded)):
            if show_each:
                _print_boxes(path, boxes, detector)
            if args.save_images and not _save_picture(path, bgr, boxes, detector, args, bar):
                failures += 1
            if args.save_crops:
                failures += not _save_crops(path, bgr, boxes, detector, args, bar)
            if args.save_results:
                records.append(detection_record(path, boxes, detector.layout, detector.labels, detector.threshold,
                                                bgr.shape))
    if bar is not None:
        bar.update(len(files) - bar.n)
        bar.close()
    _report_outputs(detector, len(files), failures, records, args)
    return failures


def _decode(paths, bar):
    """(decoded BGR images, their paths); each unreadable file is reported in one line."""
    decoded, names = [], []
    for path in paths:
        try:
            decoded.append(decode_image(path))
            names.append(path)
        except DeployError as exc:
            _report(f"error: {exc}", bar)
    return decoded, names


def _print_boxes(path, rows, detector):
    layout, labels, threshold = detector.layout, detector.labels, detector.threshold
    shown = rows[layout.scores(rows) >= threshold]
    print(f"{path}: {len(shown)} faces (score >= {threshold})")
    for c, s, (x1, y1, x2, y2) in zip(layout.classes(shown), layout.scores(shown), layout.boxes(shown)):
        print(f"  {labels[c] if c < len(labels) else c} {s:.4f} [{x1:.1f}, {y1:.1f}, {x2:.1f}, {y2:.1f}]")


def _save_picture(path, bgr, boxes, detector, args, bar):
    """Write the visualised image; False (and one error line) when it cannot be written."""
    out = output_path(path, args)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if cv2.imwrite(out, draw_boxes(bgr, boxes, detector.labels, detector.threshold, detector.layout)):
        return True
    _report(f"error: {out}: could not write the visualised image", bar)
    return False


def _save_crops(path, bgr, rows, detector, args, bar):
    """Write each face of ``rows`` scoring >= the threshold, aligned to the ArcFace template, as
    ``<save_crops>/<its path below --image_dir>_face<i>.jpg``; False (and one error line) when one cannot be written."""
    layout = detector.layout
    keep = rows[layout.scores(rows) >= detector.threshold]
    points = layout.get(keep, "landmarks").reshape(len(keep), -1, 2)
    stem = os.path.splitext(os.path.relpath(output_path(path, args), args.output_dir))[0]
    for i, face in enumerate(points):
        out = os.path.join(args.save_crops, f"{stem}_face{i}.jpg")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if not cv2.imwrite(out, align_face(bgr, face)):
            _report(f"error: {out}: could not write the aligned crop", bar)
            return False
    return True


def _report_outputs(detector, total, failures, records, args):
    """Write bbox.json and print where the outputs are and how many images were processed."""
    if args.save_results:
        path = os.path.join(args.output_dir, "bbox.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1)
        print(f"results saved to {path}")
    if args.save_images:
        print(f"visualised images saved to {args.output_dir}")
    if detector.pipeline.downscaled:
        print(f"{detector.pipeline.downscaled} image(s) larger than --max_side {detector.pipeline.max_side} px were "
              "scaled down to it before detection (boxes are in original pixels)")
    print(f"{total - failures}/{total} images processed" + (f", {failures} failed" if failures else ""))


def _report(message, bar):
    if bar is not None:
        bar.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr)
