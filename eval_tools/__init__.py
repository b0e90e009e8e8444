"""Evaluation of ppdet-face: WIDER FACE AP and FDDB ROC with the official protocols, in Python.

Quick use::

    from eval_tools import evaluate_widerface
    result = evaluate_widerface("output/pred", "../shared/data/wider_face_eval_gt")
    print(result.format_table())

Command line::

    python eval_tools/evaluate.py -p <pred_dir> -g <gt> [--json out.json] [--plot pr.png]
    python eval_tools/evaluate_fddb.py -a <FDDB-folds> -d <dets.txt> -r <prefix> [--image_dir DIR]

The IoU kernel is the Cython extension ``eval_tools._box_overlaps`` when built
(``python setup.py build_ext --inplace``), else a bit-identical numpy fallback; see
:func:`get_backend`.

The WIDER file formats (ground truth, difficulty, prediction folder, image keys and extensions)
have one reader and writer each in :mod:`eval_tools.wider_format`; every malformed file raises
:class:`WiderFormatError` (``GroundTruthError`` and ``PredictionFormatError`` are earlier names of
the same class).
"""
from .box_overlaps import (
    BACKENDS,
    Backend,
    bbox_overlaps,
    bbox_overlaps_numpy,
    cython_available,
    get_backend,
)
from .fddb import (
    FDDBAnnotations,
    FDDBFormatError,
    FDDBMissingImagesWarning,
    FDDBResult,
    FDDBUnknownImagesWarning,
    evaluate_fddb,
    format_fddb_table,
    load_annotations,
    overlap_matrix,
    read_detections,
    read_ellipse_list,
    read_fold_images,
    read_image_sizes,
    read_roc_file,
    write_fddb_detections,
)
from .wider_format import (
    IMAGE_EXTENSIONS,
    SETTINGS,
    WiderFormatError,
    read_difficulty_file,
    read_pred_file,
    write_pred_file,
    write_predictions,
)
from .widerface import (
    GroundTruthError,
    GtImage,
    MissingPredictionsWarning,
    PredictionFormatError,
    WiderEvalResult,
    WiderGroundTruth,
    dataset_pr_info,
    image_eval,
    img_pr_info,
    load_ground_truth,
    load_gt_mat,
    load_gt_txt,
    load_predictions,
    norm_score,
    score_thresholds,
    voc_ap,
)
from .widerface import evaluate as evaluate_widerface

# Note: the function is exported as ``evaluate_widerface`` because ``eval_tools.evaluate`` is the
# command-line module (importing it would shadow a package attribute of the same name).

__all__ = [
    "BACKENDS", "Backend", "bbox_overlaps", "bbox_overlaps_numpy", "cython_available",
    "get_backend", "IMAGE_EXTENSIONS", "SETTINGS", "WiderFormatError", "GroundTruthError", "GtImage",
    "MissingPredictionsWarning",
    "PredictionFormatError", "WiderEvalResult", "WiderGroundTruth", "dataset_pr_info",
    "evaluate_widerface", "image_eval", "img_pr_info", "load_ground_truth", "load_gt_mat",
    "load_gt_txt", "load_predictions", "norm_score", "read_difficulty_file", "read_pred_file",
    "score_thresholds", "voc_ap", "write_pred_file", "write_predictions", "plot_pr_curves",
    "FDDBAnnotations", "FDDBFormatError", "FDDBMissingImagesWarning", "FDDBResult",
    "FDDBUnknownImagesWarning", "evaluate_fddb", "format_fddb_table", "load_annotations",
    "overlap_matrix", "read_detections", "read_ellipse_list", "read_fold_images", "read_image_sizes",
    "read_roc_file", "write_fddb_detections", "plot_fddb_roc",
]


def plot_pr_curves(*args, **kwargs):
    """Lazy wrapper of :func:`eval_tools.plotting.plot_pr_curves` (imports matplotlib on use)."""
    from .plotting import plot_pr_curves as _plot

    return _plot(*args, **kwargs)


def plot_fddb_roc(*args, **kwargs):
    """Lazy wrapper of :func:`eval_tools.plotting.plot_fddb_roc` (imports matplotlib on use)."""
    from .plotting import plot_fddb_roc as _plot

    return _plot(*args, **kwargs)
