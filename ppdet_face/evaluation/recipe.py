"""The multi-scale WIDER recipe and its pieces: :func:`get_shrink`, the size filters, :func:`bbox_vote`,
:func:`pyramid_scales`, :func:`nms`.

:func:`multi_scale_detect` runs the recipe with any ``detect(scale)`` pass function. Its passes and merge
come in two flavours, chosen by the ``pyramid`` option (config key ``multi_scale_pyramid``):

* ``pyramid=None`` (default): PaddleDetection's published recipe (``ppdet/metrics/widerface_utils.py``), with
  the same results: flip, shrink / enlarge passes, the 0.25-1.75 pyramid, box voting. What makes it faster
  than the stock code is described in :mod:`ppdet_face.evaluation`.
* ``pyramid=(500, 800, 1200, 1600)``: SSH's test pyramid (Najibi et al., ICCV 2017, section 4.1: the
  shorter side resized to each size; the release's ``test.py``): one pass per size relative to a base
  scale that brings the shorter side to 800 px with the longer side at most 1200 px
  (``PYRAMID_BASE_SIZE``), the passes merged by NMS at IoU 0.3 (``TEST.NMS_THRESH``) keeping scores
  above 0.05 (``test_net``'s ``thresh``). SSH leaves its M3 module (the largest anchors) out of the largest
  pass; the toolkit's detectors return their levels merged, so that pass keeps the faces the published
  recipe keeps from an enlarged pass (shorter side below 100 px) instead: the same intent, no
  model-specific code here.
"""
import numpy as np

__all__ = ["SSH_PYRAMID", "bbox_vote", "get_shrink", "multi_scale_detect", "nms", "pyramid_scales"]

# The published multi-scale recipe (ppdet/metrics/widerface_utils.py).
_PYRAMID_SCALES = (0.75, 1.25, 1.5, 1.75)
_SMALL_FACE_MAX = 100  # enlarged passes keep faces whose shorter side (+1) is below this
_LARGE_FACE_MIN = 30  # shrunk passes keep faces whose longer side (+1) is above this
_VOTE_IOU = 0.3
_VOTE_TOP_K = 750
_VOTE_MIN_SCORE = 0.01

#: SSH's test pyramid: shorter sides in pixels (paper section 4.1).
SSH_PYRAMID = (500, 800, 1200, 1600)
_PYRAMID_BASE = (800, 1200)  # base scale: shorter side to 800 px, longer side at most 1200 px
_PYRAMID_NMS_IOU = 0.3
_PYRAMID_MIN_SCORE = 0.05


def _truncate(x, digits=2):
    """The recipe's ``get_round``: cut (not round) ``str(x)`` to ``digits`` decimals."""
    text = str(x)
    if "." in text and "e" not in text.lower():
        before, after = text.split(".")
        if len(after) >= 3:
            return float(before + "." + after[:digits])
    return x  # stock returns None without a '.', and garbage in exponent notation (huge images only)


def get_shrink(height, width):
    """``(shrink, max_shrink)`` of the published recipe, bit-identical to ppdet's ``get_shrink``.

    ``max_shrink`` bounds the largest up-scale by the pixel count (``~2.78e6`` pixels after the
    ``- 0.3 ...`` margins); ``shrink = min(max_shrink, 1)`` is the base detection scale.
    """
    max_shrink_v1 = (0x7FFFFFFF / 577.0 / (height * width)) ** 0.5
    max_shrink_v2 = ((678 * 1024 * 2.0 * 2.0) / (height * width)) ** 0.5
    max_shrink = _truncate(min(max_shrink_v1, max_shrink_v2), 2) - 0.3
    if 1.5 <= max_shrink < 2:
        max_shrink = max_shrink - 0.1
    elif 2 <= max_shrink < 3:
        max_shrink = max_shrink - 0.2
    elif 3 <= max_shrink < 4:
        max_shrink = max_shrink - 0.3
    elif 4 <= max_shrink < 5:
        max_shrink = max_shrink - 0.4
    elif max_shrink >= 5:
        max_shrink = max_shrink - 0.5
    elif max_shrink <= 0.1:
        max_shrink = 0.1
    shrink = max_shrink if max_shrink < 1 else 1
    return shrink, max_shrink


def _keep_large(det):
    """Shrunk passes: faces whose longer side (``+ 1``) exceeds 30 px (float32 like the recipe)."""
    return det[np.maximum(det[:, 2] - det[:, 0] + 1, det[:, 3] - det[:, 1] + 1) > _LARGE_FACE_MIN]


def _keep_small(det):
    """Enlarged passes: faces whose shorter side (``+ 1``) is below 100 px."""
    return det[np.minimum(det[:, 2] - det[:, 0] + 1, det[:, 3] - det[:, 1] + 1) < _SMALL_FACE_MAX]


def bbox_vote(det, iou_thresh=_VOTE_IOU, top_k=_VOTE_TOP_K, score_thresh=_VOTE_MIN_SCORE):
    """The recipe's box voting, as arrays; same clusters and values as ppdet's ``bbox_vote``.

    Boxes are taken in descending score order (``argsort()[::-1]``, as the recipe); the best
    remaining box and every remaining box with IoU >= ``iou_thresh`` to it (``+ 1`` pixel
    convention) form a cluster, merged to the score-weighted mean box with the maximum score.
    As in the recipe, a single-box cluster is dropped unless it is the last cluster. The first
    ``top_k`` clusters with score >= ``score_thresh`` are returned.

    Args:
        det: ``[N, 5]`` ``x1, y1, x2, y2, score``.

    Returns:
        float64 ``[K, 5]`` in cluster order (descending score).
    """
    det = np.asarray(det, dtype=np.float64).reshape(-1, 5)
    if det.shape[0] == 0:
        return np.zeros((0, 5))
    det = det[det[:, 4].ravel().argsort()[::-1]]
    x1, y1, x2, y2 = (np.ascontiguousarray(det[:, k]) for k in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    labels = np.empty(det.shape[0], dtype=np.int64)
    remaining = np.arange(det.shape[0])
    n_clusters = 0
    while remaining.size:
        head = remaining[0]
        # The recipe's IoU, operation for operation (so the same boxes pass the threshold).
        w = np.maximum(0.0, np.minimum(x2[head], x2[remaining]) - np.maximum(x1[head], x1[remaining]) + 1)
        h = np.maximum(0.0, np.minimum(y2[head], y2[remaining]) - np.maximum(y1[head], y1[remaining]) + 1)
        inter = w * h
        member = inter / (area[head] + area[remaining] - inter) >= iou_thresh
        labels[remaining[member]] = n_clusters
        n_clusters += 1
        remaining = remaining[~member]
    counts = np.bincount(labels, minlength=n_clusters)
    order = np.argsort(labels, kind="stable")  # members in score order within each cluster
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    grouped = det[order]
    scores = grouped[:, 4:5]
    out = np.empty((n_clusters, 5))
    out[:, :4] = np.add.reduceat(grouped[:, :4] * scores, starts, axis=0) / np.add.reduceat(scores, starts, axis=0)
    out[:, 4] = np.maximum.reduceat(grouped[:, 4], starts)
    keep = counts >= 2
    if counts[-1] == 1:  # the recipe appends a last single box unchanged
        out[-1] = grouped[-1]
    keep[-1] = True
    out = out[keep][:top_k]
    return out[out[:, 4] >= score_thresh]


def _unflip(det_f, width):
    """Boxes of the flipped image mapped back (float64, float32 arithmetic: as the recipe's flip_test)."""
    det1 = np.zeros(det_f.shape)
    det1[:, 0] = width - det_f[:, 2]
    det1[:, 1] = det_f[:, 1]
    det1[:, 2] = width - det_f[:, 0]
    det1[:, 3] = det_f[:, 3]
    det1[:, 4] = det_f[:, 4]
    return det1


def _scale_passes(at, max_shrink):
    """``multi_scale_test``: a shrunk pass for big faces, enlarged passes for small faces."""
    st = 0.5 if max_shrink >= 0.75 else 0.5 * max_shrink
    det_s = _keep_large(at(st))
    bt = min(2, max_shrink) if max_shrink > 1 else (st + max_shrink) / 2
    det_b = [at(bt)]
    if max_shrink > 2:
        bt *= 2
        while bt < max_shrink:
            det_b.append(at(bt))
            bt *= 2
        det_b.append(at(max_shrink))
    det_b = np.concatenate(det_b)
    return det_s, _keep_small(det_b) if bt > 1 else _keep_large(det_b)


def nms(det, iou_thresh):
    """Greedy NMS on ``[N, 5]`` ``x1, y1, x2, y2, score`` (``+ 1`` pixel convention, as SSH's ``nms``);
    the kept rows in descending score order."""
    det = np.asarray(det, dtype=np.float64).reshape(-1, 5)
    det = det[np.argsort(-det[:, 4], kind="stable")]
    x1, y1, x2, y2 = (det[:, k] for k in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    keep = []
    remaining = np.arange(det.shape[0])
    while remaining.size:
        head, rest = remaining[0], remaining[1:]
        keep.append(head)
        w = np.maximum(0.0, np.minimum(x2[head], x2[rest]) - np.maximum(x1[head], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[head], y2[rest]) - np.maximum(y1[head], y1[rest]) + 1)
        inter = w * h
        remaining = rest[inter / (area[head] + area[rest] - inter) <= iou_thresh]
    return det[keep]


def pyramid_scales(height, width, sizes):
    """The scale of each pass of SSH's test pyramid: ``size / 800 * base``, where ``base`` brings the
    shorter side to 800 px unless the longer side would exceed 1200 px (then the longer side to 1200)."""
    base = min(_PYRAMID_BASE[0] / min(height, width), _PYRAMID_BASE[1] / max(height, width))
    return [size / _PYRAMID_BASE[0] * base for size in sorted(sizes)]


def _pyramid_detect(height, width, detect, sizes):
    """SSH's test pyramid (module docstring): one pass per size, the largest pass keeping small faces,
    merged by NMS."""
    scales = pyramid_scales(height, width, sizes)
    passes = [detect(scale) for scale in scales]
    if scales[-1] > 1:
        passes[-1] = _keep_small(passes[-1])
    det = np.concatenate(passes).astype(np.float64)
    return nms(det[det[:, 4] > _PYRAMID_MIN_SCORE], _PYRAMID_NMS_IOU)


def multi_scale_detect(height, width, detect, detect_with_flip, pyramid=None):
    """The recipe for one image of ``height`` x ``width``; float64 ``[N, 5]`` ``x1, y1, x2, y2, score``.

    Args:
        height (int): image height.
        width (int): image width.
        detect (callable): ``detect(scale)`` -> float32 ``[n, 5]`` boxes of the image at ``scale``, in
            original pixels. A scale the recipe requests twice is run once.
        detect_with_flip (callable): ``detect_with_flip(scale)`` -> ``(boxes, boxes of the
            horizontally flipped image)`` at ``scale`` (one batch of 2).
        pyramid (tuple[int]|None): shorter sides of SSH's test pyramid (e.g. :data:`SSH_PYRAMID`);
            None: the published recipe (module docstring). Default: None.
    """
    if pyramid:
        return _pyramid_detect(height, width, detect, pyramid)
    shrink, max_shrink = get_shrink(height, width)
    det0, det_f = detect_with_flip(shrink)
    cache = {shrink: det0}

    def at(scale):
        if scale not in cache:
            cache[scale] = detect(scale)
        return cache[scale]

    det_s, det_b = _scale_passes(at, max_shrink)
    pyramid = [_keep_large(at(0.25))]  # multi_scale_test_pyramid
    for scale in _PYRAMID_SCALES:
        if scale <= max_shrink:
            pyramid.append(_keep_small(at(scale)) if scale > 1 else _keep_large(at(scale)))
    det = np.concatenate([det0, _unflip(det_f, width), det_s, det_b] + pyramid).astype(np.float64)
    return bbox_vote(det)
