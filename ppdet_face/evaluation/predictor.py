"""The WIDER face predictor: one network pass per image, or the published multi-scale recipe."""
import time

import numpy as np

from eval_tools.boxes import split_by_count
from ppdet_face.modeling.record import BOX, SCORE

from .. import config_keys
from ..data.preprocess import normalization
from .backends import make_net
from .normalize import normalize_image
from .recipe import multi_scale_detect, pyramid_scales

__all__ = ["DEFAULT_MAX_SIDE", "WiderFacePredictor"]

#: Single-scale memory cap: the long side (pixels) above which an image is downscaled.
DEFAULT_MAX_SIDE = config_keys.KEYS["eval_max_side"].default


class WiderFacePredictor:
    """Single- and multi-scale face prediction with any :class:`~ppdet_face.modeling.detector.FaceDetector`.

    Args:
        model: the detector; put in eval mode. Create the predictor after loading the weights
            (the ``inference`` backend exports the weights it sees at construction).
        mean (list[float]): ``NormalizeImage`` mean (RGB images; see :func:`ppdet_face.data.preprocess.normalization`).
        std (list[float]): ``NormalizeImage`` std.
        is_scale (bool): ``NormalizeImage`` divides by 255 first. Default: False.
        backend (str): one of :data:`~ppdet_face.evaluation.backends.BACKENDS`. Default: "auto".
        max_side (int): single-scale memory cap on the long side; 0 disables it. Default: :data:`DEFAULT_MAX_SIDE`.
        num_threads (int|None): CPU threads of the ``inference`` backend; None: all available cores.
        pyramid (list[int]|None): multi-scale passes: shorter sides of SSH's test pyramid; None: the
            published recipe (see :func:`~ppdet_face.evaluation.recipe.multi_scale_detect`). Default: None.

    Detections are ``[N, 5]`` arrays ``x1, y1, x2, y2, score`` in original-image pixels.
    ``last_scales`` lists the ``(scale, batch)`` network passes of the latest call.
    """

    def __init__(self, model, mean, std, is_scale=False, backend="auto", max_side=DEFAULT_MAX_SIDE,
                 num_threads=None, pyramid=None):
        model.eval()
        self.model = model
        self.post_process = model.post_process
        self.box_coder = model.head.box_coder
        self.mean = [float(v) for v in mean]
        self.std = [float(v) for v in std]
        self.is_scale = bool(is_scale)
        self.max_side = int(max_side or 0)
        if self.max_side < 0:
            raise ValueError(f"max_side must be >= 0, got {max_side}")
        t0 = time.perf_counter()
        self.net = make_net(model, backend, num_threads)
        self.setup_seconds = time.perf_counter() - t0
        self.backend = self.net.name
        self.pyramid = tuple(pyramid) if pyramid else None
        self.last_scales = []

    @classmethod
    def from_config(cls, cfg, model, **overrides):
        """Build from a loaded config: normalisation from ``EvalReader``, ``eval_max_side``,
        ``eval_backend``, ``cpu_threads`` and ``multi_scale_pyramid``; keyword ``overrides`` win."""
        mean, std, is_scale = normalization(cfg, "EvalReader")
        kwargs = {"backend": config_keys.get(cfg, "eval_backend"),
                  "max_side": config_keys.get(cfg, "eval_max_side"),
                  "num_threads": config_keys.get(cfg, "cpu_threads") or None,
                  "pyramid": config_keys.get(cfg, "multi_scale_pyramid")}
        kwargs.update(overrides)
        return cls(model, mean, std, is_scale, **kwargs)

    # -- one network pass ---------------------------------------------------------------------------
    def detect(self, images, scale):
        """Run one pass over same-sized RGB images at ``scale``; returns float32 ``[n_i, 5]`` each.

        Like the recipe's ``detect_face``: resized with ``cv2.resize`` (bilinear) to
        ``(int(w * scale), int(h * scale))`` unless ``scale == 1``, ``scale_factor = [scale, scale]``.
        """
        import cv2

        if scale != 1:
            h, w = images[0].shape[:2]
            size = (int(w * scale), int(h * scale))
            images = [cv2.resize(im, size) for im in images]
        batch = np.empty((len(images), 3) + images[0].shape[:2], dtype=np.float32)
        for i, im in enumerate(images):
            normalize_image(im, self.mean, self.std, self.is_scale, out=batch[i])
        return self._run(batch, scale)

    def _run(self, batch, scale):
        """Network + decode + NMS on a normalised ``[B, 3, H, W]`` batch at ``scale`` (a number, or
        ``[scale_y, scale_x]``); per image float32 ``[n, 5]``."""
        import paddle

        self.last_scales.append((float(np.min(scale)), len(batch)))
        image = paddle.to_tensor(batch)
        scale_factor = paddle.to_tensor(np.broadcast_to(np.asarray(scale, np.float32), (len(batch), 2)).copy())
        im_shape = paddle.to_tensor(np.tile(np.array(batch.shape[2:4], np.float32), (len(batch), 1)))
        pp = self.post_process
        with paddle.no_grad():
            deltas, logits, anchors = self.net(image)
            boxes, scores = pp.decode(deltas, logits, anchors, self.box_coder, image, scale_factor, im_shape)
            bbox, bbox_num = pp.finish(*self._nms(boxes, scores), im_shape, scale_factor)
        rows = bbox.numpy().reshape(-1, bbox.shape[-1])
        box_score = [*range(BOX.start, BOX.stop), SCORE]  # x1, y1, x2, y2, score: the WIDER row
        return [d[:, box_score] for d in split_by_count(rows, bbox_num.numpy())]  # float32

    def _nms(self, boxes, scores):
        """The post-process's NMS, run on a score-sorted prefix of the candidates first: greedy NMS keeps
        boxes in score order, so when the first ``2 * keep_top_k`` candidates already yield
        ``keep_top_k`` boxes, those are exactly the boxes the full run returns (in the same order);
        otherwise it reruns on all ``nms_top_k`` candidates."""
        pp = self.post_process
        prefix = 2 * pp.keep_top_k
        if not 0 < prefix < pp.nms_top_k or self.model.num_classes != 1:  # exact for one class only
            return pp.raw_nms(boxes, scores)
        bbox, num = pp.raw_nms(boxes, scores, nms_top_k=prefix)
        short = num.numpy() < pp.keep_top_k
        if short.any():
            candidates = (scores > pp.score_threshold).astype("int32").sum(axis=[1, 2]).numpy()
            if (candidates[short] > prefix).any():
                bbox, num = pp.raw_nms(boxes, scores)
        return bbox, num

    def predict_single_scale(self, rgb):
        """One pass at the original size (downscaled to ``max_side`` if larger, exactly as the predictor of
        deploy does: ``ppdet_face_deploy.preprocess.cap_to_max_side``); float32 ``[N, 5]``."""
        from ppdet_face_deploy.preprocess import cap_to_max_side

        self.last_scales = []
        capped, scale_factor = cap_to_max_side(rgb, self.max_side)
        if capped is rgb:
            return self.detect([rgb], 1)[0]
        batch = np.empty((1, 3) + capped.shape[:2], dtype=np.float32)
        normalize_image(capped, self.mean, self.std, self.is_scale, out=batch[0])
        return self._run(batch, scale_factor)[0]

    def _with_flip(self, rgb, scale):
        """Detections of ``rgb`` and of its horizontal flip at ``scale``, as one batch of 2."""
        import cv2

        if scale != 1:
            return tuple(self.detect([rgb, cv2.flip(rgb, 1)], scale))
        height, width = rgb.shape[:2]  # flipping commutes with the per-pixel normalisation: flip the planes
        batch = np.empty((2, 3, height, width), dtype=np.float32)
        normalize_image(rgb, self.mean, self.std, self.is_scale, out=batch[0])
        for c in range(3):
            cv2.flip(batch[0, c], 1, dst=batch[1, c])
        return tuple(self._run(batch, scale))

    def predict_multi_scale(self, rgb):
        """The multi-scale recipe (:func:`~ppdet_face.evaluation.recipe.multi_scale_detect`: the published
        one, or SSH's test pyramid when ``pyramid`` is set); float64 ``[N, 5]``."""
        self.last_scales = []
        return multi_scale_detect(rgb.shape[0], rgb.shape[1], lambda scale: self.detect([rgb], scale)[0],
                                  lambda scale: self._with_flip(rgb, scale), pyramid=self.pyramid)

    def warmup(self, multi_scale=False):
        """One throw-away pass at the largest input the mode normally needs (``inference`` only).

        Paddle's allocator then holds chunks big enough for the later passes; without it, every
        larger input size page-faults fresh memory (every image brings new shapes). Multi-scale warms at
        the recipe's per-pass bound of ~2.8e6 pixels (1 x 1664 x 1664), or for a test pyramid at its largest
        pass on a 4:3 image; single-scale at 1 x 1536 x 1024.
        The predictor then keeps the intermediate tensors of its largest pass (see docs/reliability.md
        for the measured memory). Returns the seconds spent.
        """
        import paddle

        if self.backend != "inference":
            return 0.0
        shape = (1, 3, 1536, 1024)
        if multi_scale and self.pyramid:
            top = pyramid_scales(768, 1024, self.pyramid)[-1]
            shape = (1, 3, int(768 * top), int(1024 * top))
        elif multi_scale:
            shape = (1, 3, 1664, 1664)
        t0 = time.perf_counter()
        with paddle.no_grad():
            self.net(paddle.zeros(shape, dtype="float32"))
        return time.perf_counter() - t0

    def predict(self, rgb, multi_scale=False):
        """:meth:`predict_multi_scale` or :meth:`predict_single_scale`."""
        return self.predict_multi_scale(rgb) if multi_scale else self.predict_single_scale(rgb)
