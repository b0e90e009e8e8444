"""The WIDER FACE file formats: the one reader and writer of each (numpy only, no paddle / ppdet).

Used by the dataset (:mod:`ppdet_face.data.wider`), the evaluator (:mod:`eval_tools.widerface`),
the synthetic generator (:mod:`ppdet_face.data.synthetic`) and image listing
(:func:`ppdet_face.evaluation.list_wider_images`). Every malformed file raises
:class:`WiderFormatError` naming ``file:line``.

**Ground truth** (``wider_face_*_bbx_gt.txt``), per image: the image path ``<event>/<file>.jpg``
(relative to the image folder; it must end in one of :data:`IMAGE_EXTENSIONS`), the face count,
then one line per face ``x y w h blur expression illumination invalid occlusion pose``. At least
the 4 box values are required; columns beyond the 10th are ignored, missing attribute columns read
as 0. Blank lines between images are skipped.

*The 0-face rule.* The official files follow a count of ``0`` with one all-zero placeholder line;
some writers omit it. Both are accepted: after a count of 0, the next line is the placeholder when
it is not blank and not an image path; it must then hold at least 4 numbers and is ignored.
:func:`write_gt_txt` writes the placeholder (as the official files do) unless told not to.

**Difficulty file** (``difficulty_easy_medium_hard.txt``): per image and setting one line
``<event>/<file>.jpg <easy|medium|hard>: <1-based kept face indices>`` (an empty list keeps none).

**Prediction folder**: one ``<pred_dir>/<event>/<name>.txt`` per image (:func:`pred_file_path`),
first line the image file name, second line the box count ``n``, then ``n`` lines
``left top width height score`` (extra columns are ignored on reading).

**Image keys**: an image is named ``"<event>/<name>"`` (its folder and its file name without the
extension) by :func:`image_key`, in ground truth, predictions and image lists alike.
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_DIFFICULTY_NAME", "GT_COLUMNS", "IMAGE_EXTENSIONS", "SETTINGS", "GtRecord",
    "WiderFormatError", "image_key", "is_image_name", "pred_file_path", "read_difficulty_file",
    "read_gt_txt", "read_pred_file", "split_image_key", "write_difficulty_file", "write_gt_txt",
    "write_pred_file", "write_predictions",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
"""Image file extensions (lower case; :func:`is_image_name` compares case-insensitively)."""

SETTINGS = ("easy", "medium", "hard")
"""The three official settings, in report (and difficulty file) order."""

GT_COLUMNS = 10
"""Columns of a ground-truth face line: ``x y w h`` and 6 attributes."""

DEFAULT_DIFFICULTY_NAME = "difficulty_easy_medium_hard.txt"
"""Default difficulty file name, beside a ground-truth ``.txt``."""


class WiderFormatError(ValueError):
    """A WIDER FACE file (ground truth, difficulty, prediction) is missing or malformed.

    The message names the file and, for content errors, the 1-based line: ``file:line: ...``.
    """


# --------------------------------------------------------------------------------------------------
# Image names and keys
# --------------------------------------------------------------------------------------------------
def is_image_name(name: str) -> bool:
    """Whether ``name`` ends in one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return str(name).strip().lower().endswith(IMAGE_EXTENSIONS)


def image_key(path: str | os.PathLike, where: str | None = None) -> str:
    """The key ``"<event>/<name>"`` of an image path.

    Args:
        path: ``"0--Parade/0_Parade_x.jpg"``, or any longer path ending in ``<event>/<file>``
            (``/`` or ``\\`` separators).
        where: ``file:line`` to name in the error. Default: None (no prefix).

    Returns:
        The key, e.g. ``"0--Parade/0_Parade_x"`` (last folder, file name without extension).

    Raises:
        WiderFormatError: the path has no event folder.
    """
    parts = str(path).strip().replace("\\", "/").split("/")
    if len(parts) < 2 or not parts[-2] or not parts[-1]:
        prefix = f"{where}: " if where else ""
        raise WiderFormatError(f"{prefix}image path {str(path)!r} is not '<event>/<name>.jpg'")
    return f"{parts[-2]}/{os.path.splitext(parts[-1])[0]}"


def split_image_key(key: str) -> tuple[str, str]:
    """``"<event>/<name>"`` -> ``(event, name)``.

    Raises:
        WiderFormatError: ``key`` has no ``/``.
    """
    event, sep, name = str(key).partition("/")
    if not sep or not event or not name:
        raise WiderFormatError(f"image key {key!r} is not '<event>/<name>'")
    return event, name


# --------------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GtRecord:
    """One image of a ground-truth file.

    Attributes:
        name: the image path as written, e.g. ``"0--Parade/0_Parade_x.jpg"``.
        rows: float64 ``[N, GT_COLUMNS]``: ``x y w h blur expression illumination invalid
            occlusion pose`` per face (attribute columns absent from the file are 0).
        line: 1-based line of ``name`` in the file.
    """

    name: str
    rows: np.ndarray
    line: int

    @property
    def boxes(self) -> np.ndarray:
        """float64 ``[N, 4]`` ``x y w h``."""
        return self.rows[:, :4]


def _gt_header(path, lines: list[str], i: int) -> tuple[str, int]:
    """The image path at line index ``i`` and its face count (next line)."""
    name = lines[i]
    if not is_image_name(name):
        raise WiderFormatError(f"{path}:{i + 1}: expected an image path, got {name!r}")
    if i + 1 >= len(lines):
        raise WiderFormatError(f"{path}:{i + 2}: missing face count after {name!r}")
    try:
        count = int(lines[i + 1])
    except ValueError:
        raise WiderFormatError(f"{path}:{i + 2}: expected the face count of {name!r}, "
                               f"got {lines[i + 1]!r}") from None
    if count < 0:
        raise WiderFormatError(f"{path}:{i + 2}: negative face count {count}")
    return name, count


def _gt_row(path, j: int, line: str) -> list[float]:
    """The ``GT_COLUMNS`` values of the face line at line index ``j`` (missing attributes 0)."""
    try:
        values = [float(v) for v in line.split()[:GT_COLUMNS]]
    except ValueError:
        raise WiderFormatError(f"{path}:{j + 1}: box values must be numbers, got {line!r}") from None
    if len(values) < 4:
        raise WiderFormatError(f"{path}:{j + 1}: expected 'x y w h ...', got {line!r}")
    return values + [0.0] * (GT_COLUMNS - len(values))


def _gt_faces(path, lines: list[str], start: int, name: str, count: int) -> tuple[np.ndarray, int]:
    """The face rows of one image from line index ``start``, and how many lines they take."""
    if count == 0:  # the 0-face rule of the module docstring
        placeholder = start < len(lines) and bool(lines[start]) and not is_image_name(lines[start])
        if placeholder:
            _gt_row(path, start, lines[start])
        return np.zeros((0, GT_COLUMNS)), int(placeholder)
    rows = []
    for j in range(start, start + count):
        if j >= len(lines) or is_image_name(lines[j]):
            raise WiderFormatError(f"{path}:{j + 1}: {name!r} declares {count} faces but the file "
                                   "has fewer lines")
        rows.append(_gt_row(path, j, lines[j]))
    return np.asarray(rows, dtype=np.float64), count


def read_gt_txt(path: str | os.PathLike) -> list[GtRecord]:
    """Read a ground-truth file (``wider_face_*_bbx_gt.txt``), format in the module docstring.

    Args:
        path: the file.

    Returns:
        One :class:`GtRecord` per image, in file order.

    Raises:
        WiderFormatError: naming ``path`` and the 1-based line of the first malformed entry.
        OSError: the file cannot be read.
    """
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    records, i = [], 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        name, count = _gt_header(path, lines, i)
        rows, used = _gt_faces(path, lines, i + 2, name, count)
        records.append(GtRecord(name, rows, i + 1))
        i += 2 + used
    return records


def _format_value(v) -> str:
    """An integer value as an integer, any other as the shortest exact decimal."""
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def write_gt_txt(path: str | os.PathLike, records: Iterable[tuple[str, np.ndarray]],
                 zero_placeholder: bool = True) -> None:
    """Write a ground-truth file (format in the module docstring).

    Args:
        path: output file.
        records: ``(image_path, rows)`` per image; ``rows`` is ``[N, 4..GT_COLUMNS]``
            (``x y w h`` and optionally the attributes), integers are written as integers.
        zero_placeholder: follow a count of 0 with the official all-zero line. Default: True.
    """
    out = []
    for name, rows in records:
        rows = np.asarray(rows)
        out += [str(name), str(len(rows))]
        if len(rows) == 0 and zero_placeholder:
            out.append(" ".join(["0"] * GT_COLUMNS))
        out += [" ".join(_format_value(v) for v in row) for row in rows]
    Path(path).write_text("\n".join(out) + "\n" if out else "", encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Difficulty file
# --------------------------------------------------------------------------------------------------
_DIFFICULTY_RE = re.compile(r"^(?P<path>.*?\S)\s+(?P<setting>easy|medium|hard):(?P<idx>.*)$")


def read_difficulty_file(path: str | os.PathLike) -> dict[str, dict[str, np.ndarray]]:
    """Read a difficulty file: per image and setting, the 1-based face indices kept.

    Format (one line per image and setting; an empty list means no face is kept)::

        0--Parade/0_Parade_marchingband_1_20.jpg easy: 20
        0--Parade/0_Parade_marchingband_1_20.jpg medium: 1 2 8 9 20 22
        0--Parade/0_Parade_marchingband_1_20.jpg hard: 1 2 3 ...

    Args:
        path: the difficulty file.

    Returns:
        ``{"<event>/<name>": {"easy": int64[...], "medium": ..., "hard": ...}}``.

    Raises:
        WiderFormatError: on a missing file, a malformed line or a duplicated entry.
    """
    path = Path(path)
    if not path.is_file():
        raise WiderFormatError(f"difficulty file not found: {path}")
    out: dict[str, dict[str, np.ndarray]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            m = _DIFFICULTY_RE.match(line.rstrip("\r\n"))
            where = f"{path}:{lineno}"
            if m is None:
                raise WiderFormatError(f"{where}: expected '<event>/<name>.jpg <easy|medium|hard>: "
                                       f"<1-based indices>', got {line.strip()[:80]!r}")
            key = image_key(m["path"], where)
            try:
                idx = np.array([int(t) for t in m["idx"].split()], dtype=np.int64)
            except ValueError:
                raise WiderFormatError(f"{where}: face indices must be integers") from None
            entry = out.setdefault(key, {})
            if m["setting"] in entry:
                raise WiderFormatError(f"{where}: duplicate {m['setting']} entry for {key}")
            entry[m["setting"]] = idx
    return out


def write_difficulty_file(path: str | os.PathLike,
                          entries: Iterable[tuple[str, Mapping[str, Iterable[int]]]]) -> None:
    """Write a difficulty file (format in :func:`read_difficulty_file`).

    Args:
        path: output file.
        entries: ``(image_path, {setting: 1-based kept face indices})`` per image, every setting
            of :data:`SETTINGS` present; lines are written in :data:`SETTINGS` order.
    """
    out = []
    for name, kept in entries:
        for setting in SETTINGS:
            out.append(f"{name} {setting}: " + " ".join(str(int(i)) for i in kept[setting]))
    Path(path).write_text("\n".join(out) + "\n" if out else "", encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Prediction folder
# --------------------------------------------------------------------------------------------------
def pred_file_path(pred_dir: str | os.PathLike, key: str) -> Path:
    """``<pred_dir>/<event>/<name>.txt``, the prediction file of the image ``key``."""
    event, name = split_image_key(key)
    return Path(pred_dir) / event / f"{name}.txt"


def _box_count(path, count: str) -> int:
    """The box count of line 2 (an integer, ``"12.0"`` accepted)."""
    try:
        return int(count)
    except ValueError:
        try:
            n_float = float(count)
        except ValueError:
            n_float = math.nan
        if not n_float.is_integer():
            raise WiderFormatError(
                f"{path}:2: expected the box count, got {count[:40]!r} "
                "(format: image name, box count, then 'left top width height score' lines)"
            ) from None
        return int(n_float)


def read_pred_file(path: str | os.PathLike) -> np.ndarray:
    """Read one prediction file.

    An empty file, a file with only the image name, or a box count of 0 give no detections.

    Args:
        path: ``<pred_dir>/<event>/<name>.txt``.

    Returns:
        ``[K, 5]`` float64 ``left top width height score``, in file order.

    Raises:
        WiderFormatError: on a malformed count, too few box lines, a box line with fewer
            than 5 numbers, or a non-finite value.
    """
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    if len(lines) < 2 or not lines[1].strip():
        if any(ln.strip() for ln in lines[1:]):
            raise WiderFormatError(f"{path}:2: expected the box count on line 2")
        return np.zeros((0, 5), dtype=np.float64)
    n = _box_count(path, lines[1].strip())
    if n < 0:
        raise WiderFormatError(f"{path}:2: negative box count {n}")
    if n == 0:
        return np.zeros((0, 5), dtype=np.float64)
    rows = lines[2:2 + n]
    if len(rows) < n:
        raise WiderFormatError(f"{path}: declares {n} boxes but has only {len(rows)} box lines")
    try:
        boxes = np.loadtxt(rows, dtype=np.float64, ndmin=2, usecols=(0, 1, 2, 3, 4), comments=None)
    except ValueError as exc:
        raise WiderFormatError(f"{path}: box lines must be 'left top width height score' "
                               f"({str(exc).splitlines()[0]})") from None
    if len(boxes) != n:
        raise WiderFormatError(f"{path}: declares {n} boxes but has {len(boxes)} non-blank box lines")
    if not np.isfinite(boxes).all():
        raise WiderFormatError(f"{path}: non-finite value in box lines")
    return boxes


def write_pred_file(path: str | os.PathLike, image_name: str, boxes) -> None:
    """Write one prediction file.

    Args:
        path: output ``<pred_dir>/<event>/<name>.txt`` (parent folders are created).
        image_name: first line, e.g. ``"0_Parade_marchingband_1_465.jpg"``.
        boxes: ``[K, 5]`` ``left top width height score``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{image_name}\n{len(boxes)}\n")
        for x, y, w, h, s in boxes:
            f.write(f"{x:.3f} {y:.3f} {w:.3f} {h:.3f} {s:.6f}\n")


def write_predictions(pred_dir: str | os.PathLike, predictions: Mapping[str, np.ndarray]) -> int:
    """Write ``{"<event>/<name>": [K, 5]}`` as a prediction folder (image names ``<name>.jpg``).

    Args:
        pred_dir: output folder.
        predictions: boxes ``left top width height score`` per image key.

    Returns:
        Number of files written.
    """
    for key, boxes in predictions.items():
        write_pred_file(pred_file_path(pred_dir, key), f"{split_image_key(key)[1]}.jpg", boxes)
    return len(predictions)
