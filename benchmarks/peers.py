"""The pretrained peer face detectors of ``<shared>/peers``: one implementation each.

Every peer loads its model from ``<shared>/peers/<folder>`` and has
``detect(bgr) -> float32 [K, 5]`` (``x1 y1 x2 y2 score`` in original-image pixels), run with the
peer's own published input protocol:

=====================  ===========================================================================
peer                   input protocol
=====================  ===========================================================================
YuNet 2026may          original size, ``cv2.FaceDetectorYN`` (decode and NMS inside OpenCV)
SCRFD-500m / 2.5g      640 letterbox (resize keeping the aspect ratio, black padding right/bottom,
                       as InsightFace's ``SCRFD.detect``), dynamic H x W ONNX, strides 8/16/32,
                       2 anchors per cell, ``distance2bbox`` decode
RetinaFace-mnet0.25    640 letterbox (the ONNX file is fixed 1 x 3 x 640 x 640; padding with the
                       BGR mean, as the training's ``_pad_to_square``), 16,800 priors,
                       variances 0.1 / 0.2
UltraLight RFB-640     resize to 640 x 480 (the fixed ONNX input), RGB ``(x - 127) / 128``,
                       normalised corner boxes
MediaPipe full-range   192 letterbox (centred, as MediaPipe's ``ImageToTensorCalculator`` with
                       ``keep_aspect_ratio``), RGB in [-1, 1], 2,304 anchors, weighted NMS
=====================  ===========================================================================

The score threshold is a constructor argument: :data:`EVAL_SCORE_THRESHOLD` (default) keeps the
low-score detections an AP curve needs; ``benchmarks/deploy_speed.py`` passes each peer's
deployment threshold. MediaPipe needs ``ai-edge-litert`` (``requirements.txt``).

Shared material: ``$PPDET_FACE_SHARED`` (default ``<repo>/../shared``). The ``published`` numbers
are the WIDER val easy / medium / hard APs of ``<shared>/README.md``'s peer table (full val set,
each peer's own protocol there).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ppdet_face.data.landmark_labels import YuNetLandmarks
from ppdet_face.utils.shared import shared_dir

REPO = Path(__file__).resolve().parents[1]

EVAL_SCORE_THRESHOLD = 0.02
"""Default score threshold: low, so the AP's precision-recall curve reaches high recall."""


class PeerError(RuntimeError):
    """A peer cannot be loaded (missing model file or runtime); the message says which."""


# --------------------------------------------------------------------------------------------------
# Common pieces
# --------------------------------------------------------------------------------------------------
def nms(boxes, scores, score_thr, iou_thr=0.4, top_k=750, extras=None):
    """Greedy NMS (``cv2.dnn.NMSBoxes``) of the boxes scoring above ``score_thr``.

    Args:
        boxes: ``[N, 4]`` ``x1 y1 x2 y2``.
        scores: ``[N]``.
        score_thr: keep scores above this.
        iou_thr: suppression IoU. Default: 0.4.
        top_k: keep at most this many. Default: 750.
        extras: ``[N, E]`` columns carried with each box (e.g. landmarks). Default: None.

    Returns:
        float32 ``[K, 5 + E]`` ``x1 y1 x2 y2 score`` (then the extras), by descending score.
    """
    keep = scores > score_thr
    boxes, scores = np.asarray(boxes, np.float32)[keep], np.asarray(scores, np.float32)[keep]
    extras = np.zeros((len(keep), 0), np.float32) if extras is None else np.asarray(extras, np.float32)
    extras = extras[keep]
    if not len(scores):
        return np.zeros((0, 5 + extras.shape[1]), np.float32)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    idx = cv2.dnn.NMSBoxes(xywh.tolist(), scores.tolist(), score_thr, iou_thr, top_k=top_k)
    idx = np.asarray(idx, np.int64).reshape(-1)
    return np.concatenate([boxes[idx], scores[idx, None], extras[idx]], axis=1)


def letterbox(bgr, size, fill=(0, 0, 0), centre=False):
    """Resize keeping the aspect ratio so the image fits ``size x size``, then pad.

    Args:
        bgr: ``H x W x 3`` uint8 image.
        size: side of the square canvas.
        fill: padding colour (BGR). Default: black.
        centre: pad on both sides (True) or right / bottom only. Default: False.

    Returns:
        ``(canvas, scale, (dx, dy))``: original pixel = (canvas pixel - offset) / scale.
    """
    h, w = bgr.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, int(w * scale)), max(1, int(h * scale))  # truncated, as InsightFace's SCRFD
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = np.asarray(fill, np.uint8)
    dx, dy = ((size - nw) // 2, (size - nh) // 2) if centre else (0, 0)
    canvas[dy:dy + nh, dx:dx + nw] = cv2.resize(bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas, scale, (dx, dy)


def unletterbox(det, scale, offset=(0, 0)):
    """Map ``[K, 5]`` canvas boxes back to original pixels (see :func:`letterbox`)."""
    det = det.copy()
    det[:, [0, 2]] = (det[:, [0, 2]] - offset[0]) / scale
    det[:, [1, 3]] = (det[:, [1, 3]] - offset[1]) / scale
    return det


def ort_session(path, threads):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class Peer:
    """Base of the peers.

    Class attributes: ``key`` (command-line name), ``name``, ``runtime``, ``input`` (the input
    protocol in a few words), ``model`` (path under the peers folder), ``hw`` (the input shape for
    a FLOP count), ``published`` (WIDER val easy / medium / hard AP or None) and ``published_note``.

    Args:
        root: the peers folder. Default: ``<shared>/peers``.
        threads: CPU threads. Default: 2.
        score_threshold: keep detections scoring above this. Default: :data:`EVAL_SCORE_THRESHOLD`.
        nms_threshold: suppression IoU. Default: the peer's own (``default_nms``).
        top_k: keep at most this many detections. Default: the peer's own (``top_k``).
        path: the model file, overriding ``<root>/<model>``. Default: None.

    Raises:
        PeerError: the model file or the runtime is missing.
    """

    key = name = runtime = input = model = published_note = ""
    hw = (640, 640)
    published = None
    default_nms = 0.4
    top_k = 750

    def __init__(self, root=None, threads=2, score_threshold=EVAL_SCORE_THRESHOLD, nms_threshold=None, top_k=None,
                 path=None):
        self.path = Path(path) if path else Path(root or shared_dir() / "peers") / self.model
        if not self.path.is_file():
            raise PeerError(f"{self.name}: model file not found: {self.path}")
        self.threads = threads
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(self.default_nms if nms_threshold is None else nms_threshold)
        self.top_k = int(self.top_k if top_k is None else top_k)
        self.shapes = {"input": [1, 3, *self.hw]}

    @property
    def label(self):
        """``name (input)``, for tables."""
        return f"{self.name} ({self.input})"

    def detect(self, bgr):  # pragma: no cover - every peer overrides it
        raise NotImplementedError


class _OrtPeer(Peer):
    """A peer run by ONNX Runtime."""

    runtime = "onnxruntime"

    def __init__(self, root=None, threads=2, **kwargs):
        super().__init__(root, threads, **kwargs)
        self.sess = ort_session(self.path, threads)
        self.input_name = self.sess.get_inputs()[0].name
        self.shapes = {self.input_name: [1, 3, *self.hw]}

    def network(self, blob):
        """The runtime call alone: the raw outputs for one ``1 x 3 x H x W`` input."""
        return self.sess.run(None, {self.input_name: blob})


class _LetterboxPeer(_OrtPeer):
    """An ONNX Runtime peer fed a ``size`` x ``size`` letterbox: subclasses give ``prepare`` (blob and scale)
    and ``decode`` (raw outputs -> candidate boxes in canvas pixels and their scores)."""

    size = 640

    def prepare(self, bgr):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def decode(self, outputs):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def decode_points(self, outputs):
        """Candidate five-point landmarks ``[N, 10]`` in canvas pixels (the rows of :meth:`decode`), or None for
        a peer without a landmark output."""
        return None

    def blob(self, bgr):
        return self.prepare(bgr)[0]

    def detect(self, bgr):
        blob, scale = self.prepare(bgr)
        boxes, scores = self.decode(self.network(blob))
        return unletterbox(nms(boxes, scores, self.score_threshold, self.nms_threshold, self.top_k), scale)

    def detect_landmarks(self, bgr):
        """``(boxes [K, 4] x1 y1 x2 y2, scores [K], points [K, 5, 2])`` in original pixels.

        Raises:
            PeerError: the peer has no landmark output.
        """
        blob, scale = self.prepare(bgr)
        outputs = self.network(blob)
        points = self.decode_points(outputs)
        if points is None:
            raise PeerError(f"{self.name} has no landmark output")
        boxes, scores = self.decode(outputs)
        rows = nms(boxes, scores, self.score_threshold, self.nms_threshold, self.top_k, extras=points)
        det = unletterbox(rows[:, :5], scale)
        return det[:, :4], det[:, 4], (rows[:, 5:] / scale).reshape(-1, 5, 2)


# --------------------------------------------------------------------------------------------------
# YuNet
# --------------------------------------------------------------------------------------------------
class YuNet(Peer):
    """YuNet 2026may through ``cv2.FaceDetectorYN`` at each image's own size (OpenCV >= 4.8)."""

    key, name, runtime, input = "yunet", "YuNet 2026may", "cv2.FaceDetectorYN", "original size"
    model = "yunet/face_detection_yunet_2026may.onnx"
    published = (0.886, 0.872, 0.759)
    published_note = "this 2026may file, original size, full val"
    default_nms, top_k = 0.3, 5000

    def __init__(self, root=None, threads=2, **kwargs):
        super().__init__(root, threads, **kwargs)
        if not hasattr(cv2, "FaceDetectorYN"):
            raise PeerError(f"{self.name}: OpenCV {cv2.__version__} has no FaceDetectorYN (need >= 4.8)")
        cv2.setNumThreads(threads)
        self.yunet = YuNetLandmarks(str(self.path), self.score_threshold, self.nms_threshold)
        self.net = None

    def blob(self, bgr):
        """The network input of ``bgr`` (BGR, no scaling, its own size)."""
        return cv2.dnn.blobFromImage(bgr, 1.0, None, (0, 0, 0), swapRB=False)

    def network(self, blob):
        """The ONNX graph alone through ``cv2.dnn`` (for speed tables)."""
        if self.net is None:
            self.net = cv2.dnn.readNet(str(self.path))
        self.net.setInput(blob)
        return self.net.forward(self.net.getUnconnectedOutLayersNames())

    def detect(self, bgr):
        boxes, scores, _ = self.yunet(bgr)
        return np.column_stack([boxes, scores])

    def detect_landmarks(self, bgr):
        """``(boxes [K, 4] x1 y1 x2 y2, scores [K], points [K, 5, 2])`` in eval_tools.landmarks.FIVE_POINTS order."""
        return self.yunet(bgr)


# --------------------------------------------------------------------------------------------------
# SCRFD
# --------------------------------------------------------------------------------------------------
SCRFD_STRIDES = (8, 16, 32)
SCRFD_ANCHORS = 2


def scrfd_anchor_centers(height, width, stride, num_anchors=SCRFD_ANCHORS):
    """Anchor centres ``[H/s * W/s * A, 2]`` ``(x, y)`` in input pixels, row-major, A per cell."""
    ys, xs = np.mgrid[:height // stride, :width // stride]
    centers = (np.stack([xs, ys], -1).reshape(-1, 2) * stride).astype(np.float32)
    return np.repeat(centers, num_anchors, axis=0)


def _scrfd_outputs_by_stride(outputs, input_hw, num_anchors=SCRFD_ANCHORS):
    """``{stride: {columns: [N, columns] array}}`` of SCRFD's raw outputs, each assigned to its stride by its row
    count (scores: 1 column, distances: 4, landmarks: 10).

    Raises:
        ValueError: a score or distance output whose row count fits no stride.
    """
    h, w = input_hw
    rows = {(h // s) * (w // s) * num_anchors: s for s in SCRFD_STRIDES}
    found = {}
    for out in outputs:
        arr = np.asarray(out).reshape(-1, np.asarray(out).shape[-1])
        if arr.shape[0] not in rows:
            if arr.shape[1] in (1, 4):
                raise ValueError(f"SCRFD output of shape {np.asarray(out).shape} fits no stride of {h}x{w} input")
            continue
        found.setdefault(rows[arr.shape[0]], {})[arr.shape[1]] = arr
    return found


def scrfd_group_outputs(outputs, input_hw, num_anchors=SCRFD_ANCHORS):
    """Pair SCRFD's score and distance outputs per stride from their shapes (not their order).

    Args:
        outputs: the raw output arrays: per stride ``[N, 1]`` scores, ``[N, 4]`` distances and
            optionally ``[N, 10]`` landmarks (a leading batch axis of 1 is allowed).
        input_hw: the network input ``(H, W)``.
        num_anchors: anchors per cell. Default: 2.

    Returns:
        ``{stride: (scores [N], distances [N, 4])}``.

    Raises:
        ValueError: an output whose row count fits no stride, or a stride without both outputs.
    """
    found = _scrfd_outputs_by_stride(outputs, input_hw, num_anchors)
    groups = {}
    for s in SCRFD_STRIDES:
        pair = {k: v for k, v in found.get(s, {}).items() if k in (1, 4)}
        if set(pair) != {1, 4}:
            named = sorted({1: "scores", 4: "dist"}[k] for k in pair)
            raise ValueError(f"SCRFD outputs for stride {s} incomplete: {named}")
        groups[s] = (pair[1][:, 0], pair[4])
    return groups


def scrfd_decode(outputs, input_hw, num_anchors=SCRFD_ANCHORS):
    """SCRFD's ``distance2bbox`` decode: boxes ``[N, 4]`` ``x1 y1 x2 y2`` (input pixels), scores ``[N]``.

    ``x1 = cx - d0 * s``, ``y1 = cy - d1 * s``, ``x2 = cx + d2 * s``, ``y2 = cy + d3 * s`` around
    each anchor centre ``(cx, cy)`` of stride ``s`` (:func:`scrfd_anchor_centers`).
    """
    boxes, scores = [], []
    for s, (score, dist) in scrfd_group_outputs(outputs, input_hw, num_anchors).items():
        c = scrfd_anchor_centers(input_hw[0], input_hw[1], s, num_anchors)
        d = dist * s
        boxes.append(np.concatenate([c - d[:, :2], c + d[:, 2:]], axis=1))
        scores.append(score)
    return np.concatenate(boxes), np.concatenate(scores)


def scrfd_decode_points(outputs, input_hw, num_anchors=SCRFD_ANCHORS):
    """SCRFD's ``distance2kps`` decode: ``[N, 10]`` points (input pixels) in :func:`scrfd_decode`'s row order,
    ``x = cx + d_x * s``, ``y = cy + d_y * s``; None for a model without the ``[N, 10]`` outputs."""
    found = _scrfd_outputs_by_stride(outputs, input_hw, num_anchors)
    if not all(10 in found.get(s, {}) for s in SCRFD_STRIDES):
        return None
    return np.concatenate([np.tile(scrfd_anchor_centers(*input_hw, s, num_anchors), 5) + found[s][10] * s
                           for s in SCRFD_STRIDES])


class SCRFD(_LetterboxPeer):
    """SCRFD-500m at 640 letterbox (InsightFace's ``SCRFD.detect`` protocol)."""

    key, name, input = "scrfd_500m", "SCRFD-500m", "640 letterbox"
    model = "scrfd/scrfd_500m.onnx"
    published = (0.906, 0.881, 0.685)
    published_note = "VGA (640) protocol, full val"

    def prepare(self, bgr):
        """``(blob, scale)``: the letterboxed RGB ``(x - 127.5) / 128`` input and its resize factor."""
        canvas, scale, _ = letterbox(bgr, self.size)
        return cv2.dnn.blobFromImage(canvas, 1 / 128.0, None, (127.5, 127.5, 127.5), swapRB=True), scale

    def decode(self, outputs):
        return scrfd_decode(outputs, (self.size, self.size))

    def decode_points(self, outputs):
        return scrfd_decode_points(outputs, (self.size, self.size))


class SCRFD25G(SCRFD):
    """SCRFD-2.5g at 640 letterbox."""

    key, name = "scrfd_2.5g", "SCRFD-2.5g"
    model = "scrfd/scrfd_2.5g.onnx"
    published = (0.938, 0.922, 0.779)


# --------------------------------------------------------------------------------------------------
# RetinaFace
# --------------------------------------------------------------------------------------------------
RETINAFACE_CFG = {"min_sizes": ((16, 32), (64, 128), (256, 512)), "steps": (8, 16, 32), "variance": (0.1, 0.2)}
RETINAFACE_MEAN = (104, 117, 123)  # BGR


def retinaface_priors(size=640, cfg=RETINAFACE_CFG):
    """The mnet0.25 prior boxes ``[P, 4]`` ``cx cy w h`` (normalised), in the model's output order.

    Per level, cells row by row, ``min_sizes`` per cell; 16,800 at 640 x 640.
    """
    priors = []
    for step, sizes in zip(cfg["steps"], cfg["min_sizes"]):
        n = int(np.ceil(size / step))
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        level = np.empty((n * n, len(sizes), 4), np.float32)  # per cell, one prior per min size
        level[:, :, 0] = ((xs.reshape(-1) + 0.5) * step / size)[:, None]
        level[:, :, 1] = ((ys.reshape(-1) + 0.5) * step / size)[:, None]
        level[:, :, 2:] = (np.asarray(sizes, np.float32) / size)[None, :, None]
        priors.append(level.reshape(-1, 4))
    return np.concatenate(priors).astype(np.float32)


def retinaface_decode(loc, priors, size=640, variance=RETINAFACE_CFG["variance"]):
    """RetinaFace's box decode: ``[P, 4]`` deltas -> ``[P, 4]`` ``x1 y1 x2 y2`` in input pixels."""
    c = priors[:, :2] + loc[:, :2] * variance[0] * priors[:, 2:]
    wh = priors[:, 2:] * np.exp(loc[:, 2:] * variance[1])
    return np.concatenate([c - wh / 2, c + wh / 2], axis=1) * np.float32(size)


class RetinaFace(_LetterboxPeer):
    """RetinaFace-mnet0.25 (fixed 640 x 640 ONNX, softmax scores inside) at 640 letterbox."""

    key, name, input = "retinaface_mnet025", "RetinaFace-mnet0.25", "640 letterbox"
    model = "retinaface_mnet025/FaceDetector.onnx"
    published = (0.907, 0.882, 0.738)
    published_note = "original scale, full val"

    def __init__(self, root=None, threads=2, **kwargs):
        super().__init__(root, threads, **kwargs)
        self.priors = retinaface_priors(self.size)

    def prepare(self, bgr):
        """``(blob, scale)``: the letterboxed BGR ``x - mean`` input and its resize factor."""
        canvas, scale, _ = letterbox(bgr, self.size, fill=RETINAFACE_MEAN)
        return cv2.dnn.blobFromImage(canvas, 1.0, None, RETINAFACE_MEAN, swapRB=False), scale

    def decode(self, outputs):
        loc, conf = outputs[:2]
        return retinaface_decode(loc[0], self.priors, self.size), conf[0][:, 1]

    def decode_points(self, outputs):
        """RetinaFace's ``decode_landm``: ``prior centre + delta * variance[0] * prior size`` per point."""
        deltas = outputs[2][0]
        scale = np.tile(self.priors[:, 2:] * RETINAFACE_CFG["variance"][0], 5)
        return (np.tile(self.priors[:, :2], 5) + deltas * scale) * np.float32(self.size)


# --------------------------------------------------------------------------------------------------
# UltraLight
# --------------------------------------------------------------------------------------------------
class UltraLight(_OrtPeer):
    """Ultra-Light-Fast RFB-640: the fixed 1 x 3 x 480 x 640 input, normalised corner boxes out."""

    key, name, input = "ultralight_rfb640", "UltraLight RFB-640", "640x480 resize"
    model, hw = "ultralight/version-RFB-640.onnx", (480, 640)
    published = (0.855, 0.822, 0.579)
    published_note = "640x480, full val"
    default_nms = 0.3

    def blob(self, bgr):
        return cv2.dnn.blobFromImage(cv2.resize(bgr, (self.hw[1], self.hw[0])), 1 / 128.0, None, (127, 127, 127),
                                     swapRB=True)

    def detect(self, bgr):
        scores, boxes = self.network(self.blob(bgr))
        h, w = bgr.shape[:2]
        return nms(boxes[0] * np.array([w, h, w, h], np.float32), scores[0][:, 1], self.score_threshold,
                   self.nms_threshold, self.top_k)


# --------------------------------------------------------------------------------------------------
# MediaPipe full-range
# --------------------------------------------------------------------------------------------------
def mediapipe_anchors(size=192, stride=4):
    """Full-range anchors (one per cell, fixed size): ``[(size/stride)^2, 2]`` centres, normalised."""
    n = size // stride
    ys, xs = np.mgrid[:n, :n]
    return np.stack([(xs.reshape(-1) + 0.5) / n, (ys.reshape(-1) + 0.5) / n], 1).astype(np.float32)


def mediapipe_decode(raw_boxes, raw_scores, anchors, size=192):
    """MediaPipe's ``TensorsToDetections`` for the full-range model (``reverse_output_order``).

    Returns:
        boxes ``[N, 4]`` ``x1 y1 x2 y2`` in input pixels, sigmoid scores ``[N]`` (logits clipped
        to +-100).
    """
    c = anchors * size + raw_boxes[:, :2]  # x_scale = size and fixed anchors of size 1
    wh = raw_boxes[:, 2:4]
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1), -100.0, 100.0)))
    return np.concatenate([c - wh / 2, c + wh / 2], 1).astype(np.float32), scores.astype(np.float32)


def weighted_nms(boxes, scores, score_thr, iou_thr=0.3, top_k=750):
    """MediaPipe's ``WEIGHTED`` NMS: each cluster (IoU > ``iou_thr`` with its best box) becomes the
    score-weighted mean of its boxes, with the best box's score. Returns ``[K, 5]``."""
    keep = scores > score_thr
    boxes, scores = boxes[keep], scores[keep]
    order = np.argsort(-scores, kind="stable")
    boxes, scores = boxes[order], scores[order]
    area = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    alive = np.ones(len(scores), bool)
    out = []
    for i in range(len(scores)):
        if not alive[i] or len(out) >= top_k:
            continue
        lt = np.maximum(boxes[i, :2], boxes[:, :2])
        rb = np.minimum(boxes[i, 2:], boxes[:, 2:])
        inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
        member = alive & (inter / np.maximum(area[i] + area - inter, 1e-9) > iou_thr)
        member[i] = True
        w = scores[member]
        out.append(np.append((boxes[member] * w[:, None]).sum(0) / w.sum(), scores[i]))
        alive &= ~member
    return np.asarray(out, np.float32).reshape(-1, 5)


class MediaPipeFullRange(Peer):
    """MediaPipe face detection, full-range model (192 x 192 letterbox) through LiteRT."""

    key, name, runtime, input = "mediapipe_full", "MediaPipe full-range", "ai-edge-litert", "192 letterbox"
    model, hw = "mediapipe/face_detection_full_range.tflite", (192, 192)
    published_note = "none published for WIDER"
    default_nms = 0.3

    def __init__(self, root=None, threads=2, **kwargs):
        super().__init__(root, threads, **kwargs)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise PeerError(f"{self.name}: ai-edge-litert is not installed ({exc}); "
                            "pip install -r requirements.txt") from None
        self.interp = Interpreter(model_path=str(self.path), num_threads=threads)
        self.interp.allocate_tensors()
        self.input_index = self.interp.get_input_details()[0]["index"]
        self.shapes = {"input": [1, *self.hw, 3]}  # NHWC
        outs = {tuple(d["shape"])[-1]: d["index"] for d in self.interp.get_output_details()}
        self.box_index, self.score_index = outs[16], outs[1]
        self.anchors = mediapipe_anchors(self.hw[0])

    def prepare(self, bgr):
        """``(blob, scale, offset)``: the centred-letterbox NHWC RGB input in [-1, 1] and its mapping."""
        canvas, scale, offset = letterbox(bgr, self.hw[0], centre=True)
        return (cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 127.5) - 1.0, scale, offset

    def blob(self, bgr):
        return self.prepare(bgr)[0]

    def network(self, blob):
        self.interp.set_tensor(self.input_index, blob)
        self.interp.invoke()
        return self.interp.get_tensor(self.box_index)[0], self.interp.get_tensor(self.score_index)[0]

    def detect(self, bgr):
        blob, scale, offset = self.prepare(bgr)
        boxes, scores = mediapipe_decode(*self.network(blob), self.anchors, self.hw[0])
        det = weighted_nms(boxes, scores, self.score_threshold, self.nms_threshold, self.top_k)
        return unletterbox(det, scale, offset)


PEERS = {cls.key: cls for cls in (YuNet, SCRFD, SCRFD25G, RetinaFace, UltraLight, MediaPipeFullRange)}
"""Every peer class by its ``key``, in table order."""
#: The keys of the peers with five-point landmarks (``detect_landmarks``).
LANDMARK_PEERS = ("yunet", "retinaface_mnet025", "scrfd_500m", "scrfd_2.5g")
