"""FDDB evaluation: discrete and continuous ROC with the official protocol (numpy, scipy, OpenCV).

The protocol of the official C++ program (Jain & Learned-Miller 2010, ``evaluate``), as done here:

1. **Input.** The annotations are the fold files ``FDDB-fold-NN-ellipseList.txt``: image name, face
   count, then ``major_radius minor_radius angle center_x center_y 1`` per face (angle in radians).
   A detection file has the same layout with ``x y w h score`` (``fmt="rect"``) or
   ``major_radius minor_radius angle center_x center_y score`` (``fmt="ellipse"``) lines. Extra
   columns are ignored, like the official ``>>`` reads. Images of the selected folds without an entry
   count as images without detections; entries for images outside the folds are ignored (one warning
   each, with a count). CRLF line ends, a DOS end-of-file byte (``\\x1a``), blank lines and trailing
   blanks are accepted; anything else that is malformed is an :class:`FDDBFormatError` naming
   ``file:line``.
2. **Regions are pixel sets**, drawn as the official program draws them with OpenCV (filled, 8-connected):
   an ellipse with ``cv::ellipse(center=(cvRound(cx), cvRound(cy)), axes=((int)major, (int)minor),
   angle=180 - (pi - angle) * 180 / pi degrees)`` (OpenCV itself rounds the angle to whole degrees), a
   rectangle with ``cv::rectangle((cvRound(x), cvRound(y)), (cvRound(x + w), cvRound(y + h)))``, both
   corners included; coordinates go through ``float`` first (``cvPoint2D32f``). The official program
   draws on masks of the image's size, so regions are **clipped to the image**. Here they are clipped
   when image sizes are given (:func:`read_image_sizes`), and not clipped otherwise.
   Rasterisation works on each region's bounding box (clipped to the image where it reaches a border,
   so OpenCV clips exactly as on the full image); a rectangle is an exact pixel box, so an
   ellipse-rectangle intersection is a box sum of the ellipse mask's integral image.
3. **Overlap** of a face and a detection: ``|intersection| / |union|`` of their pixel sets.
4. **Per image and per threshold** (the image's unique detection scores; tied scores enter together),
   the detections with ``score >= threshold`` are matched one-to-one to the faces by the Hungarian
   method maximising the total overlap (``scipy.optimize.linear_sum_assignment``); pairs with overlap
   0 are not matches. Discrete: a match with overlap ``> 0.5`` is a true positive. Continuous: every
   match adds its overlap to the true-positive score. False positives are, in both curves, the
   detections above the threshold minus the discrete true positives (the official ``Results`` class
   keeps one FP count), so a match with overlap ``<= 0.5`` is a false positive in both.
5. **Dataset curve**: the thresholds are the unique scores of all images; at a threshold each image
   contributes its statistics at its own smallest unique score ``>= threshold`` (or nothing). This is
   the official merge of the per-image lists, computed with ``searchsorted`` and a cumulative sum.
   An image without detections adds a threshold ``DBL_MAX`` row with no detections, as officially.
   TPR = true positives / annotated faces of the selected folds.
6. **Output**: ``<prefix>DiscROC.txt`` (``tpr fp threshold``) and ``<prefix>ContROC.txt``
   (``tpr fp``), one line per threshold in ascending threshold order, numbers printed like C++
   ``ostream`` (6 significant digits).

Deviation: the official Hungarian solver and scipy's may pick different assignments of equal total
overlap; the per-pair overlaps (and so the discrete count) can then differ. Pixel rasterisation also
differs slightly between OpenCV versions.
"""
from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DET_FORMATS = ("rect", "ellipse")
"""Detection formats: ``x y w h score`` rectangles or FDDB ellipses."""

NUM_FOLDS = 10
MATCH_THRESH = 0.5
"""Overlap above which a match is a discrete true positive (official ``score > 0.5``)."""

REPORT_FPS = (1000, 2000)
"""The false-positive counts at which papers quote the TPR."""

MAX_ELLIPSE_RADIUS = 4096.0
"""Larger ellipse radii (pixels) are refused as malformed (FDDB images are about 450 px; a bigger
radius would only make a huge raster)."""

DBL_MAX = float(np.finfo(np.float64).max)
"""Threshold of the official row for images without detections (``numeric_limits<double>::max()``)."""

_NCOLS = {"rect": 5, "ellipse": 6}
_LAYOUT = {"rect": "x y w h score", "ellipse": "major_radius minor_radius angle center_x center_y score",
           "annotation": "major_radius minor_radius angle center_x center_y [1]"}


class FDDBFormatError(ValueError):
    """An FDDB input (fold folder, fold file, detection file, image) is missing or malformed."""


class FDDBUnknownImagesWarning(UserWarning):
    """A detection file lists images that are not in the selected folds (ignored)."""


class FDDBMissingImagesWarning(UserWarning):
    """Images of the selected folds have no entry in a detection file (no detections)."""


# --------------------------------------------------------------------------------------------------
# Reading and writing
# --------------------------------------------------------------------------------------------------
def parse_folds(spec: str | Sequence[int]) -> list[int]:
    """Fold numbers from ``"1-10"``, ``"3"``, ``"1,4-6"`` (or a sequence of ints).

    Raises:
        FDDBFormatError: a malformed spec or a fold outside ``1..10``.
    """
    if not isinstance(spec, str):
        folds = [int(f) for f in spec]
    else:
        folds = []
        for part in spec.replace(" ", "").split(","):
            m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if m is None:
                raise FDDBFormatError(f"folds: expected e.g. '1-10', '3' or '1,4-6', got {spec!r}")
            lo, hi = int(m[1]), int(m[2] or m[1])
            folds += list(range(lo, hi + 1))
    bad = [f for f in folds if not 1 <= f <= NUM_FOLDS]
    if not folds or bad:
        raise FDDBFormatError(f"folds must be in 1..{NUM_FOLDS}, got {spec!r}")
    return sorted(set(folds))


def normalize_image_name(name: str) -> str:
    """Strip blanks, use ``/`` separators, drop a ``.jpg`` suffix: ``2002/08/11/big/img_591``."""
    name = name.strip().replace("\\", "/")
    return name[:-4] if name.lower().endswith(".jpg") else name


def _numbered_lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank stripped lines with their 1-based numbers; CRLF and a final DOS EOF byte accepted."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise FDDBFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    eof = text.find("\x1a")
    if eof >= 0 and not text[eof:].replace("\x1a", "").strip():
        text = text[:eof]  # DOS end-of-file byte (Ctrl-Z) and whatever blank follows it
    return [(i, s) for i, s in enumerate((ln.strip() for ln in text.split("\n")), 1) if s]


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _parse_count(path: Path, lineno: int, text: str, name: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value.is_integer() or value < 0 or len(text.split()) != 1:
        raise FDDBFormatError(f"{path}:{lineno}: expected the number of regions of {name}, "
                              f"got {text[:60]!r}")
    return int(value)


def _parse_row(path: Path, lineno: int, text: str, layout: str, count_at: int) -> list[float]:
    ncols = 5 if layout == "annotation" else _NCOLS[layout]
    tokens = text.split()
    try:
        row = [float(t) for t in tokens[:ncols]]
    except ValueError:
        row = []
    if len(row) < ncols:
        raise FDDBFormatError(f"{path}:{lineno}: expected '{_LAYOUT[layout]}', got {text[:60]!r} "
                              f"(the count on line {count_at} may be too large)")
    if not np.isfinite(row).all():
        raise FDDBFormatError(f"{path}:{lineno}: non-finite value in {text[:60]!r}")
    if layout != "rect" and not (0 <= row[0] <= MAX_ELLIPSE_RADIUS and 0 <= row[1] <= MAX_ELLIPSE_RADIUS):
        raise FDDBFormatError(f"{path}:{lineno}: ellipse radii must be in 0..{MAX_ELLIPSE_RADIUS:g}, "
                              f"got {text[:60]!r}")
    return row


def _read_region_file(path: str | os.PathLike, layout: str) -> dict[str, np.ndarray]:
    """Parse ``name / count / rows`` blocks; ``layout`` is ``"rect"``, ``"ellipse"`` or ``"annotation"``."""
    path = Path(path)
    if not path.is_file():
        kind = "annotation file" if layout == "annotation" else "detection file"
        raise FDDBFormatError(f"{kind} not found: {path}")
    lines = _numbered_lines(path)
    ncols = 5 if layout == "annotation" else _NCOLS[layout]
    out: dict[str, np.ndarray] = {}
    first_line: dict[str, int] = {}
    i = 0
    while i < len(lines):
        lineno, text = lines[i]
        if all(_is_number(t) for t in text.split()) or len(text.split()) > 1 or not text.isprintable():
            raise FDDBFormatError(f"{path}:{lineno}: expected an image name (e.g. 2002/08/11/big/img_591), "
                                  f"got {text[:60]!r} (a count that is too small above?)")
        name = normalize_image_name(text)
        if name in first_line:
            raise FDDBFormatError(f"{path}:{lineno}: {name} is listed twice "
                                  f"(first on line {first_line[name]})")
        first_line[name] = lineno
        if i + 1 >= len(lines):
            raise FDDBFormatError(f"{path}:{lineno}: {name} has no region count (file ends)")
        count_at, count_text = lines[i + 1]
        n = _parse_count(path, count_at, count_text, name)
        if i + 2 + n > len(lines):
            raise FDDBFormatError(f"{path}:{count_at}: {name} declares {n} regions, the file ends after "
                                  f"{len(lines) - i - 2}")
        rows = [_parse_row(path, ln, t, layout, count_at) for ln, t in lines[i + 2:i + 2 + n]]
        out[name] = np.array(rows, dtype=np.float64).reshape(n, ncols)
        i += 2 + n
    return out


def read_detections(path: str | os.PathLike, fmt: str = "rect") -> dict[str, np.ndarray]:
    """Read an FDDB detection file.

    Args:
        path: the file (image name, count, then one region per line).
        fmt: ``"rect"`` (``x y w h score``) or ``"ellipse"``
            (``major_radius minor_radius angle center_x center_y score``). Default: ``"rect"``.

    Returns:
        ``{image name: float64 [K, 5] or [K, 6]}`` in file order (names without ``.jpg``).

    Raises:
        FDDBFormatError: missing file or malformed content (message names ``file:line``).
    """
    if fmt not in DET_FORMATS:
        raise FDDBFormatError(f"detection format must be one of {DET_FORMATS}, got {fmt!r}")
    return _read_region_file(path, fmt)


def read_ellipse_list(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read an ``FDDB-fold-NN-ellipseList.txt``: ``{image name: float64 [N, 5]}`` with columns
    ``major_radius minor_radius angle center_x center_y`` (the trailing ``1`` is dropped).

    Raises:
        FDDBFormatError: missing file or malformed content.
    """
    return _read_region_file(path, "annotation")


def read_fold_images(folds_dir: str | os.PathLike, folds: str | Sequence[int] = "1-10") -> list[str]:
    """The image names of ``FDDB-fold-NN.txt`` for the selected folds, in fold order.

    Args:
        folds_dir: the ``FDDB-folds`` folder.
        folds: fold spec for :func:`parse_folds`. Default: ``"1-10"``.

    Raises:
        FDDBFormatError: a missing folder or fold file.
    """
    folds_dir = Path(folds_dir)
    if not folds_dir.is_dir():
        raise FDDBFormatError(f"FDDB folds folder not found: {folds_dir}")
    names: list[str] = []
    for fold in parse_folds(folds):
        path = folds_dir / f"FDDB-fold-{fold:02d}.txt"
        if not path.is_file():
            raise FDDBFormatError(f"fold list not found: {path}")
        names += [normalize_image_name(text) for _, text in _numbered_lines(path)]
    return names


@dataclass
class FDDBAnnotations:
    """The faces of the selected folds.

    Attributes:
        names: image names in fold order.
        ellipses: per image float64 ``[N, 5]`` ``major minor angle cx cy``.
        folds: the fold numbers.
        source: the fold folder.
    """

    names: list[str]
    ellipses: dict[str, np.ndarray]
    folds: list[int] = field(default_factory=list)
    source: str = ""

    @property
    def num_faces(self) -> int:
        """Annotated faces of all images."""
        return int(sum(len(self.ellipses[n]) for n in self.names))


def load_annotations(folds_dir: str | os.PathLike,
                     folds: str | Sequence[int] = "1-10") -> FDDBAnnotations:
    """Read ``FDDB-fold-NN-ellipseList.txt`` of the selected folds.

    Args:
        folds_dir: the ``FDDB-folds`` folder.
        folds: fold spec for :func:`parse_folds`. Default: ``"1-10"``.

    Returns:
        The :class:`FDDBAnnotations`.

    Raises:
        FDDBFormatError: a missing folder or file, malformed content, an image in two folds.
    """
    folds_dir = Path(folds_dir)
    if not folds_dir.is_dir():
        raise FDDBFormatError(f"FDDB folds folder not found: {folds_dir}")
    fold_list = parse_folds(folds)
    names: list[str] = []
    ellipses: dict[str, np.ndarray] = {}
    for fold in fold_list:
        path = folds_dir / f"FDDB-fold-{fold:02d}-ellipseList.txt"
        for name, regions in read_ellipse_list(path).items():
            if name in ellipses:
                raise FDDBFormatError(f"{path}: {name} is also in an earlier fold")
            names.append(name)
            ellipses[name] = regions
    return FDDBAnnotations(names, ellipses, fold_list, str(folds_dir))


def write_fddb_detections(path: str | os.PathLike, detections: Mapping[str, np.ndarray]) -> int:
    """Write detections in the FDDB format (the one writer used by tools and tests).

    Args:
        path: output file (parent folders are created).
        detections: ``{image name: [K, 5] x y w h score}`` or ``[K, 6]`` ellipses
            ``major minor angle cx cy score`` (one layout for all images); images are written in
            mapping order, with their count (``0`` for none).

    Returns:
        The number of detections written.

    Raises:
        FDDBFormatError: arrays of mixed or wrong width, or non-finite values.
    """
    width, total, blocks = None, 0, []
    for name, dets in detections.items():
        dets = np.asarray(dets, dtype=np.float64)
        if dets.size == 0:
            dets = dets.reshape(0, width or 5)
        mixed = len(dets) and width is not None and dets.shape[1] != width
        if dets.ndim != 2 or dets.shape[1] not in (5, 6) or mixed:
            raise FDDBFormatError(f"{name}: detections must all be [K, 5] (x y w h score) or all [K, 6] "
                                  f"(ellipses), got shape {dets.shape}")
        if not np.isfinite(dets).all():
            raise FDDBFormatError(f"{name}: non-finite detection value")
        width, total = (dets.shape[1] if len(dets) else width), total + len(dets)
        rows = [" ".join(f"{v:.3f}" for v in d[:-1]) + f" {d[-1]:.6f}" for d in dets]
        blocks.append("\n".join([normalize_image_name(name), str(len(dets))] + rows))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(b + "\n" for b in blocks), encoding="utf-8")
    return total


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` from a JPEG's start-of-frame header, or None."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
        elif marker in _JPEG_SOF:
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        else:
            i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of an image as stored (no EXIF rotation, like the official ``cvLoadImage``):
    from the JPEG header, else by decoding with OpenCV.

    Raises:
        FDDBFormatError: a missing or undecodable file.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FDDBFormatError(f"cannot read image {path}: {exc.strerror or exc}") from None
    size = _jpeg_size(data)
    if size is not None and min(size) > 0:
        return size
    import cv2

    im = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if im is None:
        raise FDDBFormatError(f"not a decodable image: {path}")
    return int(im.shape[1]), int(im.shape[0])


def read_image_sizes(image_dir: str | os.PathLike, names: Sequence[str],
                     ext: str = ".jpg") -> dict[str, tuple[int, int]]:
    """``{name: (width, height)}`` of ``<image_dir>/<name><ext>`` for every name.

    Args:
        image_dir: the FDDB image root (``originalPics``).
        names: image names (``2002/08/11/big/img_591``).
        ext: file extension. Default: ``".jpg"``.

    Raises:
        FDDBFormatError: the folder or an image is missing or unreadable.
    """
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        raise FDDBFormatError(f"image folder not found: {image_dir}")
    return {name: read_image_size(image_dir / f"{name}{ext}") for name in names}


def read_roc_file(path: str | os.PathLike) -> np.ndarray:
    """Read a ``DiscROC.txt`` / ``ContROC.txt`` (ours or the official program's): float64 ``[R, C]``
    with columns ``tpr fp [threshold]``.

    Raises:
        FDDBFormatError: missing file or a malformed line.
    """
    path = Path(path)
    if not path.is_file():
        raise FDDBFormatError(f"ROC file not found: {path}")
    rows = []
    for lineno, text in _numbered_lines(path):
        try:
            rows.append([float(t) for t in text.split()[:3]])
        except ValueError:
            raise FDDBFormatError(f"{path}:{lineno}: expected 'tpr fp [threshold]', "
                                  f"got {text[:60]!r}") from None
    width = min((len(r) for r in rows), default=2)
    if width < 2:
        raise FDDBFormatError(f"{path}: expected at least 'tpr fp' on every line")
    return np.array([r[:width] for r in rows], dtype=np.float64).reshape(-1, width)


# --------------------------------------------------------------------------------------------------
# Regions as pixel sets (the official OpenCV drawing)
# --------------------------------------------------------------------------------------------------
def _rows(values, ncols: int) -> np.ndarray:
    """float64 ``[K, >=ncols]`` (``[0, ncols]`` when empty)."""
    a = np.asarray(values, dtype=np.float64)
    return a.reshape(0, ncols) if a.size == 0 else a.reshape(len(a), -1)


def _cv_round(values) -> np.ndarray:
    """``cvRound(cvPoint2D32f(...))``: to float32, then to the nearest integer, ties to even."""
    return np.rint(np.asarray(values, dtype=np.float64).astype(np.float32)).astype(np.int64)


def ellipse_draw_args(ellipses) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenCV drawing arguments of FDDB ellipses, computed as the official program does.

    Args:
        ellipses: ``[N, >=5]`` ``major_radius minor_radius angle(rad) center_x center_y``.

    Returns:
        ``(centers, axes, angles)``: int64 ``[N, 2]`` ``cvRound`` of the centre, int64 ``[N, 2]``
        radii truncated to int (``(int)ra, (int)rb``), float64 ``[N]`` angle in degrees,
        ``180 - (pi - angle) * 180 / pi``.
    """
    e = _rows(ellipses, 5)
    angles = 180.0 - (np.pi - e[:, 2]) * 180.0 / np.pi
    return _cv_round(e[:, 3:5]), np.trunc(e[:, 0:2]).astype(np.int64), angles


def rect_pixel_boxes(rects, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Pixel boxes of ``x y w h`` rectangles as the official filled ``cv::rectangle`` draws them.

    Args:
        rects: ``[K, >=4]`` ``x y w h``.
        image_size: ``(width, height)`` to clip to, or None (no clipping). Default: None.

    Returns:
        int64 ``[K, 4]`` inclusive ``x0 y0 x1 y1`` (corners ``cvRound(x), cvRound(y)`` and
        ``cvRound(x + w), cvRound(y + h)``, ordered); an empty box has ``x1 < x0`` or ``y1 < y0``.
    """
    r = _rows(rects, 4)
    p1 = _cv_round(r[:, 0:2])
    p2 = _cv_round(r[:, 0:2] + r[:, 2:4])
    boxes = np.concatenate([np.minimum(p1, p2), np.maximum(p1, p2)], axis=1)
    if image_size is not None:
        w, h = image_size
        boxes[:, 0:2] = np.maximum(boxes[:, 0:2], 0)
        boxes[:, 2] = np.minimum(boxes[:, 2], w - 1)
        boxes[:, 3] = np.minimum(boxes[:, 3], h - 1)
    return boxes


def _box_area(boxes: np.ndarray) -> np.ndarray:
    w = np.maximum(boxes[:, 2] - boxes[:, 0] + 1, 0)
    h = np.maximum(boxes[:, 3] - boxes[:, 1] + 1, 0)
    return (w * h).astype(np.float64)


@dataclass
class EllipseRaster:
    """The pixels of one drawn ellipse: ``mask[y - y0, x - x0]`` is True inside it."""

    x0: int
    y0: int
    mask: np.ndarray

    @property
    def area(self) -> int:
        """Pixel count."""
        return int(np.count_nonzero(self.mask))


def rasterize_ellipse(center, axes, angle: float, image_size: tuple[int, int] | None = None) -> EllipseRaster:
    """Draw one filled ellipse with OpenCV on its bounding box.

    The box is ``center -/+ (max radius + 1)``, clipped to the image when ``image_size`` is given; a
    clipped side then lies on the image border, so OpenCV clips exactly as on a full-image mask
    (integer translations do not change OpenCV's raster; a crop through the shape would).

    Args:
        center: ``(cx, cy)`` integers.
        axes: ``(a, b)`` integer radii.
        angle: degrees.
        image_size: ``(width, height)`` or None (no clipping). Default: None.

    Returns:
        The :class:`EllipseRaster` (an empty mask when the ellipse is outside the image).
    """
    import cv2

    cx, cy = (int(v) for v in center)
    a, b = (int(v) for v in axes)
    r = max(a, b) + 1
    x0, y0, x1, y1 = cx - r, cy - r, cx + r, cy + r
    if image_size is not None:
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, image_size[0] - 1), min(y1, image_size[1] - 1)
        if x1 < x0 or y1 < y0:
            return EllipseRaster(0, 0, np.zeros((0, 0), dtype=bool))
    canvas = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    cv2.ellipse(canvas, (cx - x0, cy - y0), (a, b), float(angle), 0, 360, 1, -1)
    return EllipseRaster(x0, y0, canvas.view(bool))


def _ellipse_rasters(ellipses, image_size) -> list[EllipseRaster]:
    centers, axes, angles = ellipse_draw_args(ellipses)
    return [rasterize_ellipse(c, ax, ang, image_size) for c, ax, ang in zip(centers, axes, angles)]


def _ellipse_box_intersections(r: EllipseRaster, boxes: np.ndarray) -> np.ndarray:
    """Pixels of ``r`` inside each inclusive box (box sums of the mask's integral image)."""
    import cv2

    h, w = r.mask.shape
    integral = cv2.integral(r.mask.view(np.uint8), sdepth=cv2.CV_32S)
    c0 = np.minimum(np.maximum(boxes[:, 0] - r.x0, 0), w)  # half-open window in mask coordinates
    c1 = np.minimum(np.maximum(boxes[:, 2] - r.x0 + 1, c0), w)
    r0 = np.minimum(np.maximum(boxes[:, 1] - r.y0, 0), h)
    r1 = np.minimum(np.maximum(boxes[:, 3] - r.y0 + 1, r0), h)
    return (integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]).astype(np.float64)


def _ellipse_intersection(p: EllipseRaster, q: EllipseRaster) -> float:
    x0, y0 = max(p.x0, q.x0), max(p.y0, q.y0)
    x1 = min(p.x0 + p.mask.shape[1], q.x0 + q.mask.shape[1])
    y1 = min(p.y0 + p.mask.shape[0], q.y0 + q.mask.shape[0])
    if x1 <= x0 or y1 <= y0:
        return 0.0
    a = p.mask[y0 - p.y0:y1 - p.y0, x0 - p.x0:x1 - p.x0]
    b = q.mask[y0 - q.y0:y1 - q.y0, x0 - q.x0:x1 - q.x0]
    return float(np.count_nonzero(a & b))


def overlap_matrix(faces, detections, fmt: str = "rect",
                   image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Official overlap ``|A & B| / |A | B|`` (pixel counts) of every face and detection of an image.

    Args:
        faces: ``[N, >=5]`` annotation ellipses ``major minor angle cx cy``.
        detections: ``[K, >=4]`` ``x y w h ...`` (``fmt="rect"``) or ``[K, >=5]`` ellipses.
        fmt: ``"rect"`` or ``"ellipse"``. Default: ``"rect"``.
        image_size: ``(width, height)`` to clip regions to, or None. Default: None.

    Returns:
        float64 ``[N, K]`` in ``[0, 1]`` (0 where both regions are empty).
    """
    faces, dets = _rows(faces, 5), _rows(detections, 5)
    face_r = _ellipse_rasters(faces, image_size)
    face_area = np.array([r.area for r in face_r], dtype=np.float64)
    inter = np.zeros((len(faces), len(dets)))
    if fmt == "rect":
        boxes = rect_pixel_boxes(dets, image_size)
        det_area = _box_area(boxes)
        for i, r in enumerate(face_r):
            if r.mask.size:
                inter[i] = _ellipse_box_intersections(r, boxes)
    elif fmt == "ellipse":
        det_r = _ellipse_rasters(dets, image_size)
        det_area = np.array([r.area for r in det_r], dtype=np.float64)
        for i, p in enumerate(face_r):
            for j, q in enumerate(det_r):
                inter[i, j] = _ellipse_intersection(p, q)
    else:
        raise FDDBFormatError(f"detection format must be one of {DET_FORMATS}, got {fmt!r}")
    union = face_area[:, None] + det_area[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


# --------------------------------------------------------------------------------------------------
# Matching and the ROC
# --------------------------------------------------------------------------------------------------
@dataclass
class ImagePoints:
    """Official per-image statistics at each of the image's unique scores (ascending).

    Attributes:
        thresholds: float64 ``[T]`` unique detection scores, ascending.
        tp_disc: int64 ``[T]`` matches with overlap > 0.5 among detections with score >= threshold.
        tp_cont: float64 ``[T]`` sum of the matches' overlaps.
        fp: int64 ``[T]`` detections with score >= threshold minus ``tp_disc``.
        matched: int64 ``[T]`` matches (pairs with overlap > 0).
    """

    thresholds: np.ndarray
    tp_disc: np.ndarray
    tp_cont: np.ndarray
    fp: np.ndarray
    matched: np.ndarray


def image_roc_points(overlaps: np.ndarray, scores: np.ndarray) -> ImagePoints:
    """Match faces and detections at each unique score of one image (official ``Matching``).

    At threshold ``t`` the detections with ``score >= t`` are matched one-to-one to the faces,
    maximising the total overlap (Hungarian); pairs of overlap 0 are dropped. A detection overlapping
    no face never changes the matching, so the matching is solved once per number of overlapping
    detections above the threshold (they enter in score order), not once per threshold.

    Args:
        overlaps: float64 ``[N, K]`` from :func:`overlap_matrix`.
        scores: ``[K]`` detection scores.

    Returns:
        The :class:`ImagePoints`.
    """
    from scipy.optimize import linear_sum_assignment

    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    overlaps = np.asarray(overlaps, dtype=np.float64).reshape(-1, len(scores))
    thresholds = np.unique(scores)
    n_valid = len(scores) - np.searchsorted(np.sort(scores), thresholds, side="left")
    touching = np.flatnonzero(overlaps.any(axis=0))
    touching = touching[np.argsort(-scores[touching], kind="stable")]
    # overlapping detections with score >= each threshold: a prefix of `touching`
    n_touch = len(touching) - np.searchsorted(np.sort(scores[touching]), thresholds, side="left")
    table = np.zeros((len(touching) + 1, 3))  # per prefix length: tp_disc, tp_cont, matched
    for k in np.unique(n_touch[n_touch > 0]):
        sub = overlaps[:, touching[:k]]
        pairs = sub[linear_sum_assignment(sub, maximize=True)]
        pairs = pairs[pairs > 0]
        table[k] = (np.count_nonzero(pairs > MATCH_THRESH), pairs.sum(), len(pairs))
    stats = table[n_touch]
    tp_disc = stats[:, 0].astype(np.int64)
    return ImagePoints(thresholds, tp_disc, stats[:, 1], n_valid - tp_disc, stats[:, 2].astype(np.int64))


def merge_image_points(points: Sequence[ImagePoints], any_without_detections: bool):
    """The official merge of per-image statistics into the dataset curve.

    At a global threshold each image contributes its statistics at its smallest unique score
    ``>= threshold``, or nothing when it has none. Computed as a difference array over the sorted
    global thresholds and one cumulative sum.

    Args:
        points: per image with detections.
        any_without_detections: add the official ``DBL_MAX`` row (no detections above it).

    Returns:
        ``(thresholds, tp_disc, tp_cont, fp)`` in ascending threshold order.
    """
    parts = [p.thresholds for p in points] + ([np.array([DBL_MAX])] if any_without_detections else [])
    thresholds = np.unique(np.concatenate(parts)) if parts else np.zeros(0)
    index, delta = [], []
    for p in points:
        stats = np.stack([p.tp_disc, p.fp, p.matched, p.tp_cont], axis=1).astype(np.float64)
        pos = np.searchsorted(thresholds, p.thresholds)
        index.append(np.concatenate([[0], pos + 1]))
        delta.append(np.concatenate([stats[:1], np.diff(stats, axis=0), -stats[-1:]]))
    total = np.zeros((len(thresholds) + 1, 4))
    if points:
        np.add.at(total, np.concatenate(index), np.concatenate(delta))
    total = np.cumsum(total, axis=0)[:-1]
    tp_disc, fp, matched = (np.rint(total[:, k]).astype(np.int64) for k in range(3))
    tp_cont = np.where(matched > 0, total[:, 3], 0.0)  # exact 0 where nothing is matched
    return thresholds, tp_disc, tp_cont, fp


def tpr_at_fp(fp: np.ndarray, tpr: np.ndarray, at: float) -> float:
    """TPR of a ROC at ``at`` false positives: the best TPR among points with ``fp <= at``
    (0 when there is none)."""
    ok = np.asarray(fp) <= at
    return float(np.max(np.asarray(tpr)[ok])) if ok.any() else 0.0


@dataclass
class FDDBResult:
    """Discrete and continuous ROC of one detector (rows in ascending threshold order, official).

    Attributes:
        name: detector label (the detection file's stem by default).
        thresholds: float64 ``[R]`` score thresholds (``DBL_MAX`` last if an image has no detection).
        tp_disc: int64 ``[R]`` discrete true positives.
        tp_cont: float64 ``[R]`` continuous true-positive score.
        fp: int64 ``[R]`` false positives (the same count for both curves).
        num_faces: annotated faces of the selected folds.
        num_images: images of the selected folds.
        num_detections: detections on those images.
        fmt: detection format.
        clipped: whether regions were clipped to image sizes.
        folds: the fold numbers.
        missing_images: fold images without an entry in the detections (no detections).
        unknown_images: detection entries outside the folds (ignored).
        source: the detection file (empty for a mapping).
        timing: seconds per stage.
    """

    name: str
    thresholds: np.ndarray
    tp_disc: np.ndarray
    tp_cont: np.ndarray
    fp: np.ndarray
    num_faces: int
    num_images: int
    num_detections: int
    fmt: str = "rect"
    clipped: bool = False
    folds: list[int] = field(default_factory=list)
    missing_images: list[str] = field(default_factory=list)
    unknown_images: list[str] = field(default_factory=list)
    source: str = ""
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def disc_tpr(self) -> np.ndarray:
        """Discrete TPR per row."""
        return self.tp_disc / self.num_faces

    @property
    def cont_tpr(self) -> np.ndarray:
        """Continuous TPR per row."""
        return self.tp_cont / self.num_faces

    def tpr_at(self, fp: float, curve: str = "disc") -> tuple[float, bool]:
        """``(TPR at fp false positives, whether the curve reaches fp)``; a curve that ends before
        gives its TPR at the end.

        Args:
            fp: false-positive count.
            curve: ``"disc"`` or ``"cont"``. Default: ``"disc"``.
        """
        tpr = self.disc_tpr if curve == "disc" else self.cont_tpr
        return tpr_at_fp(self.fp, tpr, fp), bool(len(self.fp) and self.fp.max() >= fp)

    def roc_lines(self) -> tuple[list[str], list[str]]:
        """The lines of ``DiscROC.txt`` (``tpr fp threshold``) and ``ContROC.txt`` (``tpr fp``),
        numbers as C++ ``ostream`` prints them (``%g``, 6 significant digits)."""
        disc = [f"{t:.6g} {f} {s:.6g}" for t, f, s in zip(self.disc_tpr, self.fp, self.thresholds)]
        cont = [f"{t:.6g} {f}" for t, f in zip(self.cont_tpr, self.fp)]
        return disc, cont

    def write_roc(self, prefix: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``<prefix>DiscROC.txt`` and ``<prefix>ContROC.txt`` (parent folders are created).

        Returns:
            The two paths (discrete, continuous).
        """
        disc, cont = self.roc_lines()
        paths = Path(f"{os.fspath(prefix)}DiscROC.txt"), Path(f"{os.fspath(prefix)}ContROC.txt")
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        for path, lines in zip(paths, (disc, cont)):
            path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return paths

    def to_dict(self, curves: bool = True) -> dict:
        """JSON-ready summary (TPR at :data:`REPORT_FPS`) and, with ``curves`` (default True), the
        ROC rows."""
        out = {
            "name": self.name, "source": self.source, "format": self.fmt, "clipped": self.clipped,
            "folds": list(self.folds), "num_images": self.num_images, "num_faces": self.num_faces,
            "num_detections": self.num_detections, "num_thresholds": int(len(self.thresholds)),
            "max_fp": int(self.fp.max()) if len(self.fp) else 0,
            "num_missing_images": len(self.missing_images), "num_unknown_images": len(self.unknown_images),
            "tpr_at_fp": {curve: {str(fp): self.tpr_at(fp, curve)[0] for fp in REPORT_FPS}
                          for curve in ("disc", "cont")},
            "timing_s": {k: round(v, 4) for k, v in self.timing.items()},
        }
        if curves:
            out["roc"] = {"threshold": [float(t) for t in self.thresholds], "fp": [int(f) for f in self.fp],
                          "disc_tpr": [float(t) for t in self.disc_tpr],
                          "cont_tpr": [float(t) for t in self.cont_tpr]}
        return out


def format_fddb_table(results: Sequence[FDDBResult]) -> str:
    """The figures papers quote, one row per detector: TPR at 1000 and 2000 FP, discrete and
    continuous (``*``: the curve ends before, value at its end)."""
    rule = "=" * 78
    cols = [f"{c}@{fp:>4}".rjust(11) for c in ("disc", "cont") for fp in REPORT_FPS]
    head = f"{'detector':<24}" + "".join(cols)
    lines = [rule, head + "   max FP"]
    short = False
    for r in results:
        cells = []
        for curve in ("disc", "cont"):
            for fp in REPORT_FPS:
                tpr, reached = r.tpr_at(fp, curve)
                short |= not reached
                cells.append(f"{tpr:.4f}{' ' if reached else '*'}".rjust(11))
        lines.append(f"{r.name[:24]:<24}" + "".join(cells) + f"{int(r.fp.max()) if len(r.fp) else 0:>9}")
    lines.append(rule)
    if short:
        lines.append("* the curve ends before that FP count; the TPR at its end is shown")
    return "\n".join(lines)


def _select_detections(detections, fmt: str, annotations: FDDBAnnotations):
    """Detections of the fold images (read from a file or taken from a mapping), warnings, source."""
    if isinstance(detections, Mapping):
        ncols = _NCOLS.get(fmt, 5)
        dets = {normalize_image_name(k): np.asarray(v, dtype=np.float64).reshape(-1, ncols)
                for k, v in detections.items()}
        source = ""
    else:
        dets, source = read_detections(detections, fmt), str(detections)
    known = set(annotations.names)
    unknown = [k for k in dets if k not in known]
    missing = [n for n in annotations.names if n not in dets]
    where = source or "the detections"
    if unknown:
        warnings.warn(f"{len(unknown)} images of {where} are not in folds {_fold_text(annotations.folds)} "
                      f"(ignored), e.g. {unknown[0]}", FDDBUnknownImagesWarning, stacklevel=3)
    if missing:
        warnings.warn(f"{len(missing)} of {len(known)} fold images have no entry in {where} "
                      f"(counted as images without detections), e.g. {missing[0]}",
                      FDDBMissingImagesWarning, stacklevel=3)
    return dets, source, unknown, missing


def _fold_text(folds: Sequence[int]) -> str:
    folds = list(folds)
    if folds and folds == list(range(folds[0], folds[-1] + 1)):
        return f"{folds[0]}-{folds[-1]}" if len(folds) > 1 else str(folds[0])
    return ",".join(str(f) for f in folds)


def evaluate_fddb(annotations, detections, fmt: str = "rect",
                  image_sizes: Mapping[str, tuple[int, int]] | None = None, name: str | None = None,
                  folds: str | Sequence[int] = "1-10") -> FDDBResult:
    """Score detections with the official FDDB protocol (see the module doc).

    Args:
        annotations: :class:`FDDBAnnotations`, or the ``FDDB-folds`` folder (read with ``folds``).
        detections: a detection file or ``{image name: [K, 5|6]}``.
        fmt: ``"rect"`` or ``"ellipse"``. Default: ``"rect"``.
        image_sizes: ``{image name: (width, height)}`` of every fold image to clip regions to the
            image as the official program does (:func:`read_image_sizes`); None: no clipping.
            Default: None.
        name: detector label. Default: the detection file's stem (``"detections"`` for a mapping).
        folds: folds to read when ``annotations`` is a folder. Default: ``"1-10"``.

    Returns:
        The :class:`FDDBResult`.

    Raises:
        FDDBFormatError: malformed or missing input, an unknown ``fmt``, a fold image without size.
    """
    t0 = time.perf_counter()
    if fmt not in DET_FORMATS:
        raise FDDBFormatError(f"detection format must be one of {DET_FORMATS}, got {fmt!r}")
    if not isinstance(annotations, FDDBAnnotations):
        annotations = load_annotations(annotations, folds)
    if annotations.num_faces == 0:
        raise FDDBFormatError(f"no annotated faces in {annotations.source or 'the annotations'}")
    dets, source, unknown, missing = _select_detections(detections, fmt, annotations)
    if image_sizes is not None:
        absent = [n for n in annotations.names if n not in image_sizes]
        if absent:
            raise FDDBFormatError(f"no image size for {len(absent)} fold images, e.g. {absent[0]}")
    t_read = time.perf_counter()
    points, num_dets, without = [], 0, 0
    for image in annotations.names:
        d = dets.get(image)
        if d is None or not len(d):
            without += 1
            continue
        num_dets += len(d)
        size = None if image_sizes is None else tuple(int(v) for v in image_sizes[image])
        points.append(image_roc_points(overlap_matrix(annotations.ellipses[image], d, fmt, size), d[:, -1]))
    t_match = time.perf_counter()
    thresholds, tp_disc, tp_cont, fp = merge_image_points(points, without > 0)
    t_end = time.perf_counter()
    label = name or (Path(source).stem if source else "detections")
    timing = {"read": t_read - t0, "overlap_and_match": t_match - t_read, "merge": t_end - t_match,
              "total": t_end - t0}
    return FDDBResult(label, thresholds, tp_disc, tp_cont, fp, annotations.num_faces,
                      len(annotations.names), num_dets, fmt, image_sizes is not None,
                      list(annotations.folds), missing, unknown, source, timing)
