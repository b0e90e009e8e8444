"""WIDER FACE validation AP, following the official MATLAB evaluation (``wider_eval.m``) exactly.

The official protocol, as implemented here:

1. **Predictions** (``read_pred.m``): one ``<pred_dir>/<event>/<name>.txt`` per ground-truth image,
   first line the image name, second line the box count ``n``, then ``n`` lines
   ``left top width height score`` (extra columns are ignored; the file formats are read and
   written by :mod:`eval_tools.wider_format`). Boxes of an image are sorted by
   descending score (stable, like MATLAB ``sort(..., 'descend')``). A missing file counts as an
   image without detections (one warning lists how many are missing).
2. **Score normalisation** (``norm_score.m``): one global min-max over all predictions of all
   images, ``(s - min) / (max - min)``, with the running max/min initialised to
   ``realmin('single')`` / ``realmax('single')`` as in the official code (this only matters when
   every score is ``<= 0``). Deviation: when ``max == min`` the official code divides 0 by 0
   (every score NaN, AP 0); here every score becomes 1.0, as in the variant of ``norm_score.m``
   that guards it.
3. **Per setting** (easy / medium / hard) the faces listed in that setting's ``gt_list`` are kept,
   all others are *ignore* faces. ``count_face`` is the number of kept faces of all images,
   including images without predictions.
4. **Per image** (``image_evaluation``): boxes become corners with ``x2 = x + w``, ``y2 = y + h``
   and are compared with ``boxoverlap.m`` (``+ 1`` pixel convention, see
   :mod:`eval_tools.box_overlaps`). Each prediction, in score order, takes the ground-truth face of
   maximal IoU (first one on ties). If that IoU >= 0.5: an ignore face marks the prediction as
   ignored (``proposal_list = -1``, not counted as a proposal); otherwise the face is recalled if it
   was not yet. ``pred_recall[h]`` is the number of kept faces recalled by predictions ``0..h``.
   Each prediction's decision depends only on its own best match, so this is vectorised exactly.
   Images without ground truth or without predictions are skipped (they add nothing).
5. **Per image PR info** (``image_pr_info``): for the 1000 thresholds ``1 - t / 1000``,
   ``t = 1..1000``, take the last prediction with normalised score ``>= thresh`` and record the
   number of proposals (``proposal_list == 1``) up to it and its ``pred_recall``; computed with one
   ``searchsorted`` per image instead of a 1000-iteration loop.
6. **Dataset PR curve** (``dataset_pr_info``): sums over images; precision = recalled / proposals
   (NaN where there are no proposals), recall = recalled / ``count_face``.
7. **AP** (``VOCap``): VOC-style area under the monotone precision envelope of the curve with
   sentinels ``(0, 0)`` and ``(1, 0)``. NaN precisions are ignored by the envelope, like MATLAB
   ``max``; they only occur where recall is 0 and do not contribute to the area.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .box_overlaps import Backend, get_backend
from .boxes import xywh_to_corners
from .wider_format import (
    DEFAULT_DIFFICULTY_NAME,
    SETTINGS,
    WiderFormatError,
    image_key,
    pred_file_path,
    read_difficulty_file,
    read_gt_txt,
    read_pred_file,
    split_image_key,
)

GT_MAT_FILES = {
    "all": "wider_face_val.mat",
    "easy": "wider_easy_val.mat",
    "medium": "wider_medium_val.mat",
    "hard": "wider_hard_val.mat",
}
"""The official ground-truth files expected in a ``-g`` folder."""

IOU_THRESH = 0.5
THRESH_NUM = 1000

# Initial running max / min of the official norm_score.m: realmin('single') and realmax('single').
_OFFICIAL_MAX_INIT = float(np.finfo(np.float32).tiny)
_OFFICIAL_MIN_INIT = float(np.finfo(np.float32).max)


# Earlier names of WiderFormatError, exported by eval_tools and caught by its users: the same class.
GroundTruthError = WiderFormatError
PredictionFormatError = WiderFormatError


class MissingPredictionsWarning(UserWarning):
    """Some ground-truth images have no prediction file (counted as no detections)."""


# --------------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------------
@dataclass
class GtImage:
    """Ground truth of one image.

    Attributes:
        event: event folder, e.g. ``"0--Parade"``.
        name: image name without extension, e.g. ``"0_Parade_marchingband_1_465"``.
        boxes: ``[N, 4]`` float64 ``x y w h`` of all faces.
        keep: per setting, a bool mask ``[N]``: True for the faces the setting keeps, False for
            its ignore faces.
    """

    event: str
    name: str
    boxes: np.ndarray
    keep: dict[str, np.ndarray]

    @property
    def key(self) -> str:
        """``"<event>/<name>"``, the image id used for predictions."""
        return f"{self.event}/{self.name}"


@dataclass
class WiderGroundTruth:
    """Ground truth of a WIDER FACE evaluation set.

    Attributes:
        images: one :class:`GtImage` per image, in official order.
        source: where it was loaded from (for reports).
    """

    images: list[GtImage]
    source: str = ""

    def __len__(self) -> int:
        return len(self.images)

    def count_faces(self, setting: str | None = None) -> int:
        """Number of faces of all images, or of the faces kept by ``setting``."""
        if setting is None:
            return int(sum(len(im.boxes) for im in self.images))
        return int(sum(int(im.keep[setting].sum()) for im in self.images))


def _mat_str(cell) -> str:
    """String of a MATLAB char cell element as returned by ``scipy.io.loadmat``."""
    return str(np.asarray(cell).ravel()[0])


def _keep_mask(one_based, n_faces: int, where: str) -> np.ndarray:
    """Bool mask from 1-based kept face indices, validated against ``n_faces``."""
    idx = np.asarray(one_based, dtype=np.int64).ravel()
    if idx.size and (idx.min() < 1 or idx.max() > n_faces):
        raise WiderFormatError(f"{where}: kept face index out of range 1..{n_faces}")
    mask = np.zeros(n_faces, dtype=bool)
    mask[idx - 1] = True
    return mask


def load_gt_mat(gt_dir: str | os.PathLike) -> WiderGroundTruth:
    """Load the official ``.mat`` ground truth.

    Args:
        gt_dir: folder holding ``wider_face_val.mat`` and ``wider_{easy,medium,hard}_val.mat``.

    Returns:
        The :class:`WiderGroundTruth` (3226 images for the official val set).

    Raises:
        WiderFormatError: when a file is missing, unreadable or inconsistent with the others.
    """
    from scipy.io import loadmat  # scipy is only needed for the .mat input

    gt_dir = Path(gt_dir)
    paths = {k: gt_dir / v for k, v in GT_MAT_FILES.items()}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise WiderFormatError(f"ground-truth folder {gt_dir} lacks {', '.join(missing)}")
    mats = {}
    for key, path in paths.items():
        try:
            mats[key] = loadmat(str(path))
        except Exception as exc:  # scipy raises several types for corrupt files
            raise WiderFormatError(f"cannot read {path}: {exc}") from exc
    full = mats["all"]
    for key in ("event_list", "file_list", "face_bbx_list"):
        if key not in full:
            raise WiderFormatError(f"{paths['all']} has no '{key}'")
    events = [_mat_str(e) for e in full["event_list"].ravel()]
    file_lists = [[_mat_str(f) for f in fl.ravel()] for fl in full["file_list"].ravel()]
    for setting in SETTINGS:
        mat = mats[setting]
        if "gt_list" not in mat:
            raise WiderFormatError(f"{paths[setting]} has no 'gt_list'")
        if "event_list" in mat and [_mat_str(e) for e in mat["event_list"].ravel()] != events:
            raise WiderFormatError(f"{paths[setting]}: event_list differs from {paths['all'].name}")
    images: list[GtImage] = []
    for i, event in enumerate(events):
        bbx_list = full["face_bbx_list"].ravel()[i].ravel()
        names = file_lists[i]
        if len(bbx_list) != len(names):
            raise WiderFormatError(f"{paths['all']}: event {event} has {len(names)} files but "
                                   f"{len(bbx_list)} box lists")
        sub = {s: mats[s]["gt_list"].ravel()[i].ravel() for s in SETTINGS}
        for s in SETTINGS:
            if len(sub[s]) != len(names):
                raise WiderFormatError(f"{paths[s]}: event {event} has {len(sub[s])} entries, "
                                       f"expected {len(names)}")
        for j, name in enumerate(names):
            boxes = np.asarray(bbx_list[j], dtype=np.float64).reshape(-1, 4)
            keep = {s: _keep_mask(sub[s][j], len(boxes), f"{paths[s].name} {event}/{name}")
                    for s in SETTINGS}
            images.append(GtImage(event, name, boxes, keep))
    return WiderGroundTruth(images, source=str(gt_dir))


def load_gt_txt(gt_txt: str | os.PathLike,
                difficulty: str | os.PathLike | None = None) -> WiderGroundTruth:
    """Load ``wider_face_val_bbx_gt.txt`` plus a difficulty file.

    Args:
        gt_txt: official annotation text, read by :func:`eval_tools.wider_format.read_gt_txt`
            (format and the rule for images with 0 faces in :mod:`eval_tools.wider_format`).
        difficulty: difficulty file (see :func:`read_difficulty_file`); default
            ``difficulty_easy_medium_hard.txt`` beside ``gt_txt``.

    Returns:
        The :class:`WiderGroundTruth`, images in file order.

    Raises:
        WiderFormatError: on missing files, malformed content, or images without difficulty entry.
    """
    gt_txt = Path(gt_txt)
    if not gt_txt.is_file():
        raise WiderFormatError(f"ground-truth file not found: {gt_txt}")
    if difficulty:
        difficulty = Path(difficulty)
        if not difficulty.is_file():
            raise WiderFormatError(f"difficulty file not found: {difficulty}")
    else:
        difficulty = gt_txt.with_name(DEFAULT_DIFFICULTY_NAME)
        if not difficulty.is_file():
            raise WiderFormatError(f"difficulty file not found: {difficulty} (the default beside "
                                   f"{gt_txt.name}; pass --difficulty)")
    diff = read_difficulty_file(difficulty)
    images: list[GtImage] = []
    for rec in read_gt_txt(gt_txt):
        key = image_key(rec.name, f"{gt_txt}:{rec.line}")
        if key not in diff:
            raise WiderFormatError(f"{difficulty}: no entry for {key}")
        absent = [s for s in SETTINGS if s not in diff[key]]
        if absent:
            raise WiderFormatError(f"{difficulty}: {key} lacks {', '.join(absent)}")
        keep = {s: _keep_mask(diff[key][s], len(rec.rows), f"{difficulty} {key} {s}")
                for s in SETTINGS}
        images.append(GtImage(*split_image_key(key), rec.boxes, keep))
    if not images:
        raise WiderFormatError(f"{gt_txt}: no images found")
    return WiderGroundTruth(images, source=str(gt_txt))


def load_ground_truth(gt: str | os.PathLike,
                      difficulty: str | os.PathLike | None = None) -> WiderGroundTruth:
    """Load ground truth from a folder of official ``.mat`` files or a ``.txt`` + difficulty file.

    Args:
        gt: folder with ``wider_face_val.mat`` & co (a path to one of those ``.mat`` files also
            works), or a ``wider_face_val_bbx_gt.txt``-style file.
        difficulty: difficulty file for a ``.txt`` ground truth (default: beside it).

    Returns:
        The :class:`WiderGroundTruth`.

    Raises:
        WiderFormatError: with a one-line explanation of what is missing or malformed.
    """
    gt = Path(gt)
    if gt.is_dir():
        if difficulty:
            raise WiderFormatError("--difficulty only applies to a .txt ground truth, "
                                   f"{gt} is a folder of .mat files")
        return load_gt_mat(gt)
    if gt.is_file():
        if gt.suffix.lower() == ".mat":
            return load_gt_mat(gt.parent)
        return load_gt_txt(gt, difficulty)
    raise WiderFormatError(f"ground truth not found: {gt}")


# --------------------------------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------------------------------
_EMPTY_PRED = np.zeros((0, 5), dtype=np.float64)


def load_predictions(pred_dir: str | os.PathLike, gt: WiderGroundTruth,
                     progress: bool = True) -> tuple[list[np.ndarray], list[str]]:
    """Read ``<pred_dir>/<event>/<name>.txt`` for every ground-truth image.

    Args:
        pred_dir: the prediction folder.
        gt: the ground truth that lists the images.
        progress: show a tqdm progress bar.

    Returns:
        ``(predictions, missing)``: raw ``[K, 5]`` arrays aligned with ``gt.images`` (empty for a
        missing file) and the keys of the images whose file is missing.

    Raises:
        WiderFormatError: if ``pred_dir`` is not a folder or a file is malformed.
    """
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise WiderFormatError(f"prediction folder not found: {pred_dir}")
    preds: list[np.ndarray] = []
    missing: list[str] = []
    for im in _progress(gt.images, progress, "Reading predictions"):
        path = pred_file_path(pred_dir, im.key)
        if not path.is_file():
            missing.append(im.key)
            preds.append(_EMPTY_PRED.copy())
            continue
        preds.append(read_pred_file(path))
    return preds, missing


# --------------------------------------------------------------------------------------------------
# Protocol steps
# --------------------------------------------------------------------------------------------------
def sort_by_score(pred: np.ndarray) -> np.ndarray:
    """Sort boxes by descending score, stable like MATLAB ``sort(..., 'descend')``."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 5)
    return pred[np.argsort(-pred[:, 4], kind="stable")]


def norm_score(preds: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Global min-max normalisation of the scores (official ``norm_score.m``).

    Args:
        preds: ``[K, 5]`` arrays of all images.

    Returns:
        New arrays with column 4 mapped to ``(s - min) / (max - min)`` over all images; all 1.0
        when ``max == min`` (the official code would produce NaN there).
    """
    max_score, min_score = _OFFICIAL_MAX_INIT, _OFFICIAL_MIN_INIT
    for p in preds:
        if len(p):
            max_score = max(max_score, float(p[:, 4].max()))
            min_score = min(min_score, float(p[:, 4].min()))
    diff = max_score - min_score
    out = []
    for p in preds:
        q = np.array(p, dtype=np.float64, copy=True).reshape(-1, 5)
        if len(q):
            q[:, 4] = (q[:, 4] - min_score) / diff if diff > 0 else 1.0
        out.append(q)
    return out


def match_predictions(pred: np.ndarray, gt_boxes: np.ndarray, iou_thresh: float = IOU_THRESH,
                      backend: str | Backend = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Best ground-truth face of every prediction (independent of the setting).

    Args:
        pred: ``[K, >=4]`` predictions ``x y w h ...`` in score order.
        gt_boxes: ``[N, 4]`` ground truth ``x y w h`` (N >= 1).
        iou_thresh: IoU needed for a match.
        backend: IoU backend name or :class:`Backend`.

    Returns:
        ``(best_gt, matched)``: int64 ``[K]`` index of the max-IoU face (first on ties) and bool
        ``[K]`` whether that IoU reaches ``iou_thresh``.
    """
    if not isinstance(backend, Backend):
        backend = get_backend(backend)
    overlaps = backend.bbox_overlaps(xywh_to_corners(pred), xywh_to_corners(gt_boxes))
    best = overlaps.argmax(axis=1)
    matched = overlaps[np.arange(len(best)), best] >= iou_thresh
    return best, matched


def image_eval_from_matches(best_gt: np.ndarray, matched: np.ndarray,
                            keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Official ``image_evaluation`` given the best matches (vectorised, exact).

    Args:
        best_gt: ``[K]`` max-IoU face index per prediction.
        matched: ``[K]`` whether that IoU reaches the threshold.
        keep: ``[N]`` bool, faces kept by the setting (False = ignore face).

    Returns:
        ``(pred_recall, proposal_list)``: int64 ``[K]`` kept faces recalled by predictions
        ``0..h``, and int64 ``[K]``: 1 for a proposal, -1 for a prediction matched to an ignore
        face.
    """
    keep = np.asarray(keep, dtype=bool)
    hits_kept = matched & keep[best_gt]
    proposal_list = np.where(matched & ~keep[best_gt], -1, 1).astype(np.int64)
    new_recall = np.zeros(len(best_gt), dtype=np.int64)
    hit_idx = np.flatnonzero(hits_kept)
    if hit_idx.size:
        _, first = np.unique(best_gt[hit_idx], return_index=True)
        new_recall[hit_idx[first]] = 1
    return np.cumsum(new_recall), proposal_list


def image_eval(pred: np.ndarray, gt_boxes: np.ndarray, keep: np.ndarray,
               iou_thresh: float = IOU_THRESH,
               backend: str | Backend = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Official ``image_evaluation`` of one image.

    Args:
        pred: ``[K, 5]`` ``x y w h score``, sorted by descending score.
        gt_boxes: ``[N, 4]`` ``x y w h``.
        keep: ``[N]`` bool (or the official 0/1 ``ignore`` vector where 1 = kept).
        iou_thresh: IoU needed for a match.
        backend: IoU backend.

    Returns:
        ``(pred_recall, proposal_list)`` as in :func:`image_eval_from_matches`.
    """
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 5)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    if len(gt_boxes) == 0:
        return np.zeros(len(pred), dtype=np.int64), np.ones(len(pred), dtype=np.int64)
    best, matched = match_predictions(pred, gt_boxes, iou_thresh, backend)
    return image_eval_from_matches(best, matched, np.asarray(keep).astype(bool))


def score_thresholds(thresh_num: int = THRESH_NUM) -> np.ndarray:
    """The official thresholds ``1 - t / thresh_num`` for ``t = 1..thresh_num`` (descending)."""
    return 1.0 - np.arange(1, thresh_num + 1, dtype=np.float64) / thresh_num


def _num_above(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per threshold, the number of (descending-sorted) scores ``>= thresh``."""
    return np.searchsorted(-scores, -thresholds, side="right")


def _pr_info_from_counts(num_above: np.ndarray, proposal_list: np.ndarray,
                         pred_recall: np.ndarray) -> np.ndarray:
    """``image_pr_info`` from the per-threshold number of boxes with score ``>= thresh``."""
    out = np.zeros((len(num_above), 2), dtype=np.int64)
    nz = num_above > 0
    last = num_above[nz] - 1
    out[nz, 0] = np.cumsum(proposal_list == 1)[last]
    out[nz, 1] = pred_recall[last]
    return out


def img_pr_info(thresh_num: int, pred: np.ndarray, proposal_list: np.ndarray,
                pred_recall: np.ndarray) -> np.ndarray:
    """Official ``image_pr_info``: per threshold the proposals and recalled faces of one image.

    Args:
        thresh_num: number of thresholds (1000 officially).
        pred: ``[K, 5]`` with normalised scores, sorted by descending score.
        proposal_list: ``[K]`` 1 / -1 from :func:`image_eval`.
        pred_recall: ``[K]`` from :func:`image_eval`.

    Returns:
        int64 ``[thresh_num, 2]``: column 0 proposals, column 1 recalled kept faces.
    """
    scores = np.asarray(pred, dtype=np.float64).reshape(-1, 5)[:, 4]
    return _pr_info_from_counts(_num_above(scores, score_thresholds(thresh_num)),
                                np.asarray(proposal_list), np.asarray(pred_recall))


def dataset_pr_info(thresh_num: int, pr_curve: np.ndarray, count_face: int) -> np.ndarray:
    """Official ``dataset_pr_info``: precision and recall per threshold.

    Args:
        thresh_num: number of thresholds.
        pr_curve: ``[thresh_num, 2]`` summed (proposals, recalled) over all images.
        count_face: kept faces of the setting.

    Returns:
        float64 ``[thresh_num, 2]``: column 0 precision (NaN without proposals), column 1 recall.
    """
    pr_curve = np.asarray(pr_curve, dtype=np.float64).reshape(thresh_num, 2)
    out = np.full((thresh_num, 2), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, 0] = pr_curve[:, 1] / pr_curve[:, 0]
        out[:, 1] = pr_curve[:, 1] / count_face if count_face else np.nan
    return out


def voc_ap(rec: np.ndarray, prec: np.ndarray) -> float:
    """VOC AP: area under the monotone precision envelope (official ``VOCap``).

    Args:
        rec: recall per threshold (non-decreasing).
        prec: precision per threshold (NaN allowed; ignored by the envelope like MATLAB ``max``).

    Returns:
        The AP.
    """
    mrec = np.concatenate(([0.0], np.asarray(rec, dtype=np.float64), [1.0]))
    mpre = np.concatenate(([0.0], np.asarray(prec, dtype=np.float64), [0.0]))
    mpre = np.fmax.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


# --------------------------------------------------------------------------------------------------
# Whole evaluation
# --------------------------------------------------------------------------------------------------
@dataclass
class WiderEvalResult:
    """Result of :func:`evaluate`.

    Attributes:
        ap: AP per setting.
        pr_curve: per setting float64 ``[thresh_num, 2]`` (precision, recall), official layout.
        counts: per setting int64 ``[thresh_num, 2]`` summed (proposals, recalled faces).
        count_face: kept faces per setting.
        thresholds: the ``thresh_num`` normalised-score thresholds.
        num_images: images in the ground truth.
        num_predictions: predicted boxes over those images.
        missing: keys of images without a prediction file / entry.
        backend: description of the IoU backend used.
        iou_thresh: IoU threshold.
        timing: seconds spent per stage.
    """

    ap: dict[str, float]
    pr_curve: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    count_face: dict[str, int]
    thresholds: np.ndarray
    num_images: int
    num_predictions: int
    missing: list[str]
    backend: str
    iou_thresh: float = IOU_THRESH
    timing: dict[str, float] = field(default_factory=dict)

    def format_table(self) -> str:
        """The AP table, e.g. ``Easy Val AP: 0.9000`` lines framed by rules."""
        rule = "=" * 40
        lines = [rule]
        for s in SETTINGS:
            lines.append(f"{s.capitalize():<7}Val AP: {self.ap[s]:.4f}   "
                         f"({self.count_face[s]} faces)")
        lines.append(rule)
        return "\n".join(lines)

    def to_dict(self, curves: bool = True) -> dict:
        """JSON-ready dict (NaN -> None); ``curves`` adds the per-threshold PR curves."""
        def clean(values):
            return [None if not np.isfinite(v) else float(v) for v in values]

        out = {
            "ap": {s: (None if math.isnan(self.ap[s]) else float(self.ap[s])) for s in SETTINGS},
            "count_face": dict(self.count_face),
            "num_images": self.num_images,
            "num_predictions": self.num_predictions,
            "num_missing_prediction_files": len(self.missing),
            "missing_prediction_files": list(self.missing),
            "backend": self.backend,
            "iou_thresh": self.iou_thresh,
            "thresh_num": int(len(self.thresholds)),
            "timing_s": {k: round(v, 4) for k, v in self.timing.items()},
        }
        if curves:
            out["pr_curve"] = {
                s: {
                    "threshold": clean(self.thresholds),
                    "precision": clean(self.pr_curve[s][:, 0]),
                    "recall": clean(self.pr_curve[s][:, 1]),
                    "proposals": [int(v) for v in self.counts[s][:, 0]],
                    "recalled": [int(v) for v in self.counts[s][:, 1]],
                }
                for s in SETTINGS
            }
        return out


def _progress(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, unit="img", leave=False, dynamic_ncols=True)


def _gather_predictions(predictions, gt, progress):
    """Per ground-truth image, its ``[K, 5]`` predictions (none for a missing image) and the missing keys."""
    if isinstance(predictions, Mapping):
        raw, missing = [], []
        for im in gt.images:
            if im.key in predictions:
                raw.append(np.asarray(predictions[im.key], dtype=np.float64).reshape(-1, 5))
            else:
                missing.append(im.key)
                raw.append(_EMPTY_PRED)
        return raw, missing
    raw, missing = load_predictions(predictions, gt, progress=progress)
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        hint = "; does the folder hold the <event>/<name>.txt files directly?" if len(missing) == len(gt) else ""
        warnings.warn(f"{len(missing)} of {len(gt)} prediction files are missing under {predictions} "
                      f"(counted as no detections): {shown}{hint}", MissingPredictionsWarning, stacklevel=3)
    return raw, missing


def _pr_counts(gt, preds, thresholds, iou_thresh, backend, progress):
    """Per setting, ``[thresh_num, 2]`` summed (proposals, recalled faces) over all images."""
    counts = {s: np.zeros((len(thresholds), 2), dtype=np.int64) for s in SETTINGS}
    for im, pred in _progress(list(zip(gt.images, preds)), progress, "Evaluating"):
        if len(im.boxes) == 0 or len(pred) == 0:
            continue
        best, matched = match_predictions(pred, im.boxes, iou_thresh, backend)
        num_above = _num_above(pred[:, 4], thresholds)
        for s in SETTINGS:
            pred_recall, proposal_list = image_eval_from_matches(best, matched, im.keep[s])
            counts[s] += _pr_info_from_counts(num_above, proposal_list, pred_recall)
    return counts


def evaluate(predictions, gt, difficulty: str | os.PathLike | None = None,
             iou_thresh: float = IOU_THRESH, thresh_num: int = THRESH_NUM,
             backend: str | Backend = "auto", progress: bool = False) -> WiderEvalResult:
    """Score predictions with the official WIDER FACE protocol.

    Args:
        predictions: a prediction folder (``<event>/<name>.txt``) or a mapping
            ``{"<event>/<name>": [K, 5] left top width height score}``. Images without a file are
            counted as no detections; for a folder one :class:`MissingPredictionsWarning` says how
            many files are missing.
        gt: a :class:`WiderGroundTruth`, or a path for :func:`load_ground_truth`.
        difficulty: difficulty file for a ``.txt`` ground truth.
        iou_thresh: IoU needed for a match (0.5 officially).
        thresh_num: number of score thresholds (1000 officially).
        backend: IoU backend, ``"auto"``, ``"cython"`` or ``"numpy"`` (or a :class:`Backend`).
        progress: show tqdm progress bars.

    Returns:
        The :class:`WiderEvalResult`.

    Raises:
        WiderFormatError: bad ground truth input, or a bad prediction folder or file.
    """
    t0 = time.perf_counter()
    if not isinstance(backend, Backend):
        backend = get_backend(backend)
    if not isinstance(gt, WiderGroundTruth):
        gt = load_ground_truth(gt, difficulty)
    t_gt = time.perf_counter()
    raw, missing = _gather_predictions(predictions, gt, progress)
    t_read = time.perf_counter()
    preds = norm_score([sort_by_score(p) for p in raw])
    thresholds = score_thresholds(thresh_num)
    counts = _pr_counts(gt, preds, thresholds, iou_thresh, backend, progress)
    count_face = {s: gt.count_faces(s) for s in SETTINGS}
    pr_curve = {s: dataset_pr_info(thresh_num, counts[s], count_face[s]) for s in SETTINGS}
    ap = {s: (voc_ap(pr_curve[s][:, 1], pr_curve[s][:, 0]) if count_face[s] else math.nan)
          for s in SETTINGS}
    t_eval = time.perf_counter()
    return WiderEvalResult(
        ap=ap, pr_curve=pr_curve, counts=counts, count_face=count_face, thresholds=thresholds,
        num_images=len(gt), num_predictions=int(sum(len(p) for p in preds)), missing=missing,
        backend=backend.describe(), iou_thresh=iou_thresh,
        timing={"load_gt": t_gt - t0, "read_predictions": t_read - t_gt,
                "evaluate": t_eval - t_read, "total": t_eval - t0},
    )
