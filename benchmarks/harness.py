"""What every benchmark needs, once: the machine line, the shared folder, the peak RSS, a markdown table and a WIDER
prediction loop over any ``detect(bgr) -> [K, 5]`` (``x1, y1, x2, y2, score``)."""
import time
from pathlib import Path

from benchmarks.machine import cpu_info, cpu_line
from ppdet_face.utils.shared import shared_dir
from ppdet_face_deploy.memory import peak_rss_mb

__all__ = ["BenchmarkError", "machine_line", "markdown_table", "peak_rss_mb", "predict_wider", "shared_dir"]


class BenchmarkError(RuntimeError):
    """A benchmark cannot run (missing data, an unreadable image, a failed row); one line."""


def machine_line():
    """The CPU model and its vector / matrix flags: printed with every table (compare only within one run)."""
    return cpu_line(cpu_info())


def markdown_table(header, rows, align=None):
    """A markdown table.

    Args:
        header (list[str]): column titles.
        rows (list[list]): cells (converted with ``str``); a row may be shorter (empty cells follow).
        align (str|None): one character per column, ``l`` or ``r``; None: the first column left, the others
            right. Default: None.

    Returns:
        str: the table, one line per row, no trailing newline.
    """
    align = align or "l" + "r" * (len(header) - 1)
    rule = "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    for row in rows:
        cells = [str(c) for c in row] + [""] * (len(header) - len(row))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def predict_wider(detect, images, pred_dir, warmup=True):
    """Run ``detect`` on each image and write the official WIDER prediction files.

    Args:
        detect (callable): BGR uint8 image -> ``[K, 5]`` ``x1, y1, x2, y2, score`` in pixels.
        images (list[tuple]): ``(image key "<event>/<name>", image path)`` pairs.
        pred_dir (str|Path): the prediction folder (``<event>/<name>.txt``).
        warmup (bool): one uncounted call on the first image first. Default: True.

    Returns:
        list[tuple]: per image ``(seconds for read + detect + write, number of boxes)``.

    Raises:
        BenchmarkError: an image cannot be read.
    """
    import cv2

    from eval_tools.boxes import corners_to_wider
    from eval_tools.wider_format import pred_file_path, write_pred_file

    if warmup and images:
        detect(_read(cv2, images[0][1]))
    out = []
    for key, path in images:
        t0 = time.perf_counter()
        det = corners_to_wider(detect(_read(cv2, path)))
        write_pred_file(pred_file_path(pred_dir, key), Path(path).name, det)
        out.append((time.perf_counter() - t0, len(det)))
    return out


def _read(cv2, path):
    bgr = cv2.imread(str(path))
    if bgr is None:
        raise BenchmarkError(f"cannot read image {path}")
    return bgr
