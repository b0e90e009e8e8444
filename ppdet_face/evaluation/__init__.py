"""WIDER FACE prediction (a fast single-scale path and a fast multi-scale path) and its AP metric.

The engine depends on this package, never the reverse.

Both write the official prediction folder ``<pred_dir>/<event>/<name>.txt`` (image name, box count,
then ``left top width height score`` lines sorted by descending score) through
:mod:`eval_tools.wider_format`, so :func:`eval_tools.evaluate_widerface` scores them.

Modes (config key ``multi_scale_eval``, declared in :mod:`ppdet_face.config_keys`):

* **single-scale** (default): one network pass over the image at its original size. Images whose
  long side exceeds ``max_side`` (config ``eval_max_side``, default :data:`DEFAULT_MAX_SIDE` = 2048
  px, ``0`` disables the cap) are first downscaled so the long side is ``max_side``; boxes are mapped
  back to original pixels. The cap bounds the activation memory of that pass (at 2048 x 2048 about
  the measured memory is in docs/reliability.md); WIDER val images (1024 px wide) are below it, so
  they run at 1:1.
* **multi-scale**: the published recipe of PaddleDetection's ``ppdet/metrics/widerface_utils.py``
  (``face_eval_run(..., multi_scale=True)``), with the same results: the memory-bounded
  :func:`get_shrink`, detection at ``shrink`` plus its horizontal flip, ``multi_scale_test``
  (0.5 for large faces, up-scales up to ``max_shrink`` for small faces), ``multi_scale_test_pyramid``
  (0.25, 0.75, 1.25, 1.5, 1.75 with the same size filters), then :func:`bbox_vote` and the top 750
  boxes with score >= 0.01. What is faster than the stock code (``benchmarks/ms_eval_speed.py``):

  - the network runs in inference mode (no autograd tape) and, by default, through Paddle
    Inference with oneDNN (``backend``, below), which is several times faster on CPU than the
    dygraph kernels (Paddle's dygraph depthwise convolution alone takes ~60% of a dygraph pass);
    it uses ``cpu_threads`` threads (0: all cores; the stock dygraph path uses
    ``FLAGS_paddle_num_threads``, 1 by default), and :meth:`WiderFacePredictor.warmup` sizes the
    allocator once so that new input shapes do not page-fault fresh memory;
  - the flip pass runs together with the unflipped pass as one batch of 2;
  - a scale that the recipe requests twice (for example ``bt`` and a pyramid scale, or ``shrink``
    and a pyramid scale) runs once; its detections are reused with each caller's filter;
  - images are normalised with a lookup table (bit-identical to ppdet's ``NormalizeImage``);
  - NMS stays on the graph output per pass (the model's post-process), first on the best
    ``2 * keep_top_k`` candidates, which yields exactly the full run's boxes whenever it keeps
    ``keep_top_k`` of them (greedy NMS keeps boxes in score order), else on all ``nms_top_k``;
  - :func:`bbox_vote` keeps only the IoU step of the stock per-cluster loop (on an index array, no
    ``np.delete`` copies of the box table, no ``np.row_stack`` per cluster) and merges all
    clusters at once with ``np.add.reduceat``; per-pass results are concatenated once.

  Same semantics as the stock recipe in every detail that decides which boxes come out: float32 size
  filters, float32 flip arithmetic, the concatenation order, the (unstable) descending score sort of
  ``bbox_vote``, and its quirk of dropping single-box clusters except the last one.
* **multi-scale with a test pyramid** (config key ``multi_scale_pyramid``, e.g. ``[500, 800, 1200, 1600]``
  in the SSH configs): SSH's test pyramid instead of the published passes, one pass per shorter side,
  merged by NMS (:mod:`.recipe`).

Backends (config key ``eval_backend``, :mod:`.backends`): ``"inference"`` exports the detector's trunk
(:meth:`FaceDetector.raw_outputs`) once per predictor with :func:`ppdet_face.export.export_program`
and runs it with Paddle Inference + oneDNN; anchors, decoding and NMS stay with the detector. A
self-check against dygraph on a random input guards the export (it falls back to dygraph with a warning
under ``"auto"``).
``"dygraph"`` runs ``model.raw_outputs`` under ``paddle.no_grad()`` and is bit-identical to the
model's plain eval forward. ``"auto"`` (default) picks ``inference`` on CPU builds with oneDNN.
The oneDNN kernels round differently from the dygraph ones (relative differences ~1e-6), so a box
whose score ties with a neighbour's can come out of NMS differently; the algorithm is the same.
"""
from .backends import BACKENDS
from .metric import WiderFaceAPMetric
from .normalize import normalize_image
from .predictor import DEFAULT_MAX_SIDE, WiderFacePredictor
from .recipe import SSH_PYRAMID, bbox_vote, get_shrink, multi_scale_detect, nms, pyramid_scales
from .wider import PredictionRun, WiderImage, list_wider_images, predict_widerface

__all__ = ["BACKENDS", "DEFAULT_MAX_SIDE", "SSH_PYRAMID", "PredictionRun", "WiderFaceAPMetric", "WiderFacePredictor",
           "WiderImage", "bbox_vote", "get_shrink", "list_wider_images", "multi_scale_detect", "nms",
           "normalize_image", "predict_widerface", "pyramid_scales"]
