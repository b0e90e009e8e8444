"""The detection record: the columns of each row of the model's ``bbox`` output, as ``infer_cfg.yml`` declares
them (``record``: ``[field name, number of columns]`` pairs, in row order). Every reader of detections goes
through it."""
import numpy as np

from .preprocess import DeployError

__all__ = ["BASE_RECORD", "RecordLayout"]

#: The fields every face detector outputs first: class id, score, box ``x1, y1, x2, y2`` (original pixels).
#: Exports written before the ``record`` key existed have exactly these.
BASE_RECORD = {"class": 1, "score": 1, "box": 4}


class RecordLayout:
    """Named column ranges of detection rows.

    Args:
        fields (dict|list): field name -> number of columns, or ``[name, columns]`` pairs, in row order; it starts
            with :data:`BASE_RECORD`.

    Raises:
        DeployError: the fields do not start with ``class``, ``score``, ``box`` or a width is not positive.
    """

    def __init__(self, fields):
        pairs = fields.items() if isinstance(fields, dict) else fields
        try:
            fields = {str(k): int(v) for k, v in pairs}
        except (TypeError, ValueError):
            raise DeployError(f"record {fields!r}: expected [name, columns] pairs") from None
        if list(fields.items())[:3] != list(BASE_RECORD.items()) or min(fields.values()) < 1:
            raise DeployError(f"record {fields}: must start with class: 1, score: 1, box: 4 (positive widths)")
        self.fields = fields
        self.slices, start = {}, 0
        for name, width in fields.items():
            self.slices[name] = slice(start, start + width)
            start += width
        self.width = start

    @classmethod
    def from_infer_cfg(cls, cfg):
        """The layout ``infer_cfg.yml`` declares (its ``record``; :data:`BASE_RECORD` when absent)."""
        return cls(cfg.get("record") or BASE_RECORD)

    @property
    def extras(self):
        """tuple: the field names after ``class``, ``score``, ``box`` (e.g. ``landmarks``)."""
        return tuple(self.fields)[len(BASE_RECORD):]

    def rows(self, bbox):
        """``bbox`` as float32 ``[N, width]`` (an empty output becomes ``[0, width]``)."""
        return np.asarray(bbox, np.float32).reshape(-1, self.width) if np.size(bbox) else \
            np.zeros((0, self.width), np.float32)

    def get(self, rows, name):
        """The columns of field ``name`` of ``rows`` ``[N, width]`` (``[N]`` for one-column fields)."""
        cols = rows[:, self.slices[name]]
        return cols[:, 0] if self.fields[name] == 1 else cols

    def scores(self, rows):
        """``[N]`` scores."""
        return self.get(rows, "score")

    def boxes(self, rows):
        """``[N, 4]`` ``x1, y1, x2, y2``."""
        return self.get(rows, "box")

    def classes(self, rows):
        """``[N]`` int class ids."""
        return self.get(rows, "class").astype(np.int64)
