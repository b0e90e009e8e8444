"""The detection record, declared once: the columns of each row a detector outputs after NMS.

Every row starts with ``class`` (1 column), ``score`` (1) and ``box`` (4: ``x1, y1, x2, y2`` in original-image
pixels); a detector may add extras after them (e.g. ``landmarks``: 10), which it declares in
:attr:`~ppdet_face.modeling.detector.FaceDetector.extra_fields` and computes per anchor in
:meth:`~ppdet_face.modeling.detector.FaceDetector.decode_extras`. NMS (Paddle and ONNX) carries the extras of the
rows it keeps, clipping touches the box only, and the export writes the layout to ``infer_cfg.yml`` (``record``),
which is how deploy (``ppdet_face_deploy.record.RecordLayout``) reads the rows.
"""

__all__ = ["BASE_FIELDS", "BOX", "SCORE", "record_fields"]

#: The fields of every row, in order: name -> number of columns.
BASE_FIELDS = {"class": 1, "score": 1, "box": 4}
#: Column of the score and columns of the box in a row.
SCORE, BOX = 1, slice(2, 6)


def record_fields(extra_fields=None):
    """The record of a detector: :data:`BASE_FIELDS`, then its extras (name -> columns), in order.

    Raises:
        ValueError: an extra field reuses a base name or has fewer than 1 column.
    """
    extras = dict(extra_fields or {})
    bad = {k: v for k, v in extras.items() if k in BASE_FIELDS or int(v) < 1}
    if bad:
        raise ValueError(f"extra record fields {bad}: names must differ from {', '.join(BASE_FIELDS)} and widths "
                         "be >= 1")
    return {**BASE_FIELDS, **{str(k): int(v) for k, v in extras.items()}}
