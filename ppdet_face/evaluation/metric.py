"""The WIDER easy / medium / hard AP as a PaddleDetection metric (what ``--eval`` keeps ``best_model`` by)."""
import numpy as np
from ppdet.metrics import Metric

from eval_tools import evaluate_widerface
from eval_tools.wider_format import SETTINGS

from ..utils.logging import get_logger

__all__ = ["WiderFaceAPMetric"]

logger = get_logger(__name__)


class WiderFaceAPMetric(Metric):
    """Easy / medium / hard AP of the WIDER protocol over an eval dataset in WIDER layout.

    Args:
        dataset (WIDERFaceDetDataset): the eval dataset (gives image names and the gt file).
        difficulty_file (str|None): per-image easy/medium/hard face indices; default: the
            ``difficulty_easy_medium_hard.txt`` beside the gt file.

    ``get_results()`` returns ``{'bbox': [mean AP], 'easy': .., 'medium': .., 'hard': ..}``;
    the trainer keeps ``best_model`` by the mean.
    """

    def __init__(self, dataset, difficulty_file=None):
        self.dataset = dataset
        self.gt_file = dataset.get_anno()
        self.difficulty_file = difficulty_file
        self.reset()

    def reset(self):
        self.preds = {}
        self.results = {}

    def set_predictions(self, predictions):
        """Predictions ``{"<event>/<name>": [K, 5] left, top, width, height, score}`` to score."""
        self.preds = dict(predictions)

    def update(self, inputs, outputs):
        raise NotImplementedError("WiderFaceAPMetric is fed by FaceTrainer through set_predictions() "
                                  "(the tools/eval.py prediction code), not per batch")

    def accumulate(self):
        result = evaluate_widerface(self.preds, self.gt_file, difficulty=self.difficulty_file)
        self.results = {k: float(result.ap[k]) for k in SETTINGS}
        self.results["bbox"] = [float(np.mean([self.results[k] for k in SETTINGS]))]

    def log(self):
        r = self.results
        logger.info("WIDER AP  easy %.4f  medium %.4f  hard %.4f", r["easy"], r["medium"], r["hard"])

    def get_results(self):
        return self.results
