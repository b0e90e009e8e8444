"""Per-stage wall times of the predictor (preprocess / inference / postprocess)."""
import numpy as np

__all__ = ["StageTimer"]


class StageTimer:
    """Per-call wall times (ms) of preprocess / inference / postprocess and image counts."""

    STAGES = ("preprocess", "inference", "postprocess")

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget every recorded time and image."""
        self.times = {s: [] for s in self.STAGES}
        self.images = 0

    def add(self, preprocess_ms, inference_ms, postprocess_ms, images):
        """Record one call: the three stage times (ms) and its number of images."""
        for stage, ms in zip(self.STAGES, (preprocess_ms, inference_ms, postprocess_ms)):
            self.times[stage].append(ms)
        self.images += images

    def summary(self):
        """Statistics of every stage and of end to end.

        Returns:
            dict: per stage (and ``end_to_end``) mean / p50 / p90 / p99 / min ms and count;
            ``images`` and ``qps`` (images per second of the summed end-to-end time).
        """
        out = {}
        for stage, values in list(self.times.items()) + [("end_to_end", self._total())]:
            v = np.asarray(values, np.float64)
            out[stage] = ({"mean": float(v.mean()), "p50": float(np.percentile(v, 50)),
                           "p90": float(np.percentile(v, 90)), "p99": float(np.percentile(v, 99)),
                           "min": float(v.min()), "count": int(v.size)} if v.size else {"count": 0})
        total_s = float(np.sum(self._total())) / 1000.0
        out["images"] = self.images
        out["qps"] = self.images / total_s if total_s > 0 else 0.0
        return out

    def _total(self):
        n = min(len(v) for v in self.times.values())
        return [sum(self.times[s][i] for s in self.STAGES) for i in range(n)]
