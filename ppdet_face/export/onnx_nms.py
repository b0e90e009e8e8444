"""Our own ONNX NMS subgraph, equivalent to the post-process's Paddle NMS for any batch size.

paddle2onnx maps ``multiclass_nms3`` for batch size 1 only and passes ``nms_top_k`` as ONNX's *post*-NMS
``max_output_boxes_per_class`` (Paddle's is a *pre*-NMS candidate cap). The network is exported up to
decoded boxes and scores, and :func:`append_nms` adds: the ``nms_top_k`` best candidates per image
(TopK), NonMaxSuppression, rows ordered by image then score, and, with ``clip: after_nms``, the clip
of each row to its original image (``floor(im_shape / scale_factor + 0.5)``) with rows left without
area dropped -- the Paddle post-process, step for step.
"""
import numpy as np

__all__ = ["append_nms"]


class _Graph:
    """Collects the nodes and constants of the subgraph (all names prefixed ``nms.``)."""

    def __init__(self):
        from onnx import TensorProto, helper

        self.helper, self.TensorProto = helper, TensorProto
        self.nodes, self.inits = [], []

    def const(self, name, value, dtype):
        arr = np.array(value, dtype=dtype)
        kind = {np.int64: self.TensorProto.INT64, np.float32: self.TensorProto.FLOAT}[dtype]
        self.inits.append(self.helper.make_tensor("nms." + name, kind, arr.shape, arr.reshape(-1).tolist()))
        return "nms." + name

    def node(self, op, inputs, outputs=None, **attrs):
        outputs = outputs or [f"nms.{op.lower()}_{len(self.nodes)}"]
        self.nodes.append(self.helper.make_node(op, inputs, outputs, name=f"nms.{op}_{len(self.nodes)}", **attrs))
        return outputs if len(outputs) > 1 else outputs[0]


def _gather_candidates(g, name, top_i, width):
    """Rows ``top_i`` [B, k] of ``name`` [B, A, width] -> [B, k, width]."""
    idx = g.node("Expand", [g.node("Unsqueeze", [top_i], axes=[2]),
                            g.node("Concat", [g.node("Shape", [top_i]), g.const(f"width{width}", [width], np.int64)],
                                   axis=0)])
    return g.node("GatherElements", [name, idx], axis=1)


def _candidates(g, boxes_name, scores_name, post, extras=None):
    """Per image, the ``nms_top_k`` highest scores, their boxes and their extras (``extras``: (name, width)):
    ``(scores [B, k], boxes [B, k, 4], extras [B, k, E] or None)``.

    ``k`` is also bounded by the most scores above ``score_threshold`` in one image (at least 1): the
    boxes beyond are dropped by NonMaxSuppression's threshold anyway, and a TopK of a few hundred of the
    anchors is several times cheaper than one of ``nms_top_k``.
    """
    c1 = g.const("one", [1], np.int64)
    top_k = g.const("nms_top_k", [post.nms_top_k if post.nms_top_k > 0 else 2 ** 31 - 1], np.int64)
    s2 = g.node("Squeeze", [scores_name], axes=[1])                                       # [B, A]
    n_anchor = g.node("Gather", [g.node("Shape", [s2]), c1], axis=0)                       # [1]
    above = g.node("Cast", [g.node("Greater", [s2, g.const("thr_k", [post.score_threshold], np.float32)])],
                   to=g.TensorProto.FLOAT)  # counted in float: opset 11's Max takes no integers
    most = g.node("ReduceMax", [g.node("ReduceSum", [above], axes=[1], keepdims=0)], axes=[0], keepdims=1)
    n_above = g.node("Cast", [g.node("Max", [most, g.const("fone", [1.0], np.float32)])],
                     to=g.TensorProto.INT64)                                               # [1], >= 1
    k = g.node("ReduceMin", [g.node("Concat", [n_anchor, top_k, n_above], axis=0)], axes=[0], keepdims=1)
    top_v, top_i = g.node("TopK", [s2, k], ["nms.top_v", "nms.top_i"], axis=1, largest=1, sorted=1)
    cand_extras = _gather_candidates(g, extras[0], top_i, extras[1]) if extras else None
    return top_v, _gather_candidates(g, boxes_name, top_i, 4), cand_extras


def _select(g, top_v, cand_boxes, post, cand_extras=None):
    """NonMaxSuppression; the kept rows ordered by image, then score.

    Returns ``(image [K], scores [K, 1], boxes [K, 4], extras [K, E] or None)``.
    """
    c0, c2 = g.const("zero", [0], np.int64), g.const("two", [2], np.int64)
    keep = g.const("keep_top_k", [post.keep_top_k if post.keep_top_k > 0 else 2 ** 31 - 1], np.int64)
    iou = g.const("iou", [post.nms_threshold], np.float32)
    thr = g.const("score_threshold", [post.score_threshold], np.float32)
    sel = g.node("NonMaxSuppression", [cand_boxes, g.node("Unsqueeze", [top_v], axes=[1]), keep, iou, thr],
                 center_point_box=0)                                                       # [K, 3]
    b_col = g.node("Gather", [sel, c0], axis=1)                                            # [K, 1]
    bi = g.node("Concat", [b_col, g.node("Gather", [sel, c2], axis=1)], axis=1)            # [K, 2]
    sel_boxes, sel_scores = g.node("GatherND", [cand_boxes, bi]), g.node("GatherND", [top_v, bi])
    # Order: image, then score descending (TopK is stable, so sort by score, then by image).
    n_sel = g.node("Shape", [sel_scores])
    _, by_score = g.node("TopK", [sel_scores, n_sel], ["nms.s_v", "nms.s_i"], axis=0, largest=1, sorted=1)
    b_sorted = g.node("Gather", [g.node("Squeeze", [b_col], axes=[1]), by_score], axis=0)
    neg_b = g.node("Neg", [g.node("Cast", [b_sorted], to=g.TensorProto.FLOAT)])
    _, by_image = g.node("TopK", [neg_b, n_sel], ["nms.b_v", "nms.b_i"], axis=0, largest=1, sorted=1)
    order = g.node("Gather", [by_score, by_image], axis=0)
    image = g.node("Gather", [b_sorted, by_image], axis=0)
    scores = g.node("Unsqueeze", [g.node("Gather", [sel_scores, order], axis=0)], axes=[1])
    extras = None if cand_extras is None else g.node("Gather", [g.node("GatherND", [cand_extras, bi]), order], axis=0)
    return image, scores, g.node("Gather", [sel_boxes, order], axis=0), extras


def _clip_rows(g, image, scores, boxes, extras=None):
    """Clip each row's box to its image's original size; drop rows without area. Returns the kept
    ``(image, scores, boxes, extras)`` (extras unchanged, None when there are none)."""
    half = g.const("half", [0.5], np.float32)
    size = g.node("Floor", [g.node("Add", [g.node("Div", ["im_shape", "scale_factor"]), half])])  # [B, 2] H, W
    wh = g.node("Concat", [g.node("Slice", [size, g.const("s1", [1], np.int64), g.const("e2", [2], np.int64),
                                             g.const("ax1", [1], np.int64)]),
                           g.node("Slice", [size, g.const("s0", [0], np.int64), g.const("e1", [1], np.int64),
                                            g.const("ax1b", [1], np.int64)])], axis=1)         # [B, 2] W, H
    limit = g.node("Gather", [g.node("Concat", [wh, wh], axis=1), image], axis=0)           # [K, 4]
    zero = g.const("fzero4", [0.0], np.float32)
    xyxy = g.node("Min", [g.node("Max", [boxes, zero]), limit])
    lo = g.node("Slice", [xyxy, g.const("c0", [0], np.int64), g.const("c2", [2], np.int64),
                          g.const("cax", [1], np.int64)])
    hi = g.node("Slice", [xyxy, g.const("c2b", [2], np.int64), g.const("c4", [4], np.int64),
                          g.const("caxb", [1], np.int64)])
    has_area = g.node("ReduceMin", [g.node("Cast", [g.node("Greater", [hi, lo])], to=g.TensorProto.INT32)],
                      axes=[1], keepdims=0)
    keep = g.node("Cast", [has_area], to=g.TensorProto.BOOL)
    return tuple(None if t is None else g.node("Compress", [t, keep], axis=0) for t in (image, scores, xyxy, extras))


def _last_dim(onnx_model, name):
    """The static last dimension of graph output ``name`` (the extras' width E)."""
    out = next(o for o in onnx_model.graph.output if o.name == name)
    dim = out.type.tensor_type.shape.dim[-1]
    if not dim.HasField("dim_value"):
        raise RuntimeError(f"ONNX output {name}: the extras' width must be static")
    return int(dim.dim_value)


def _counts(g, boxes_name, image):
    """``bbox_num``: rows per image of the batch."""
    c0, c1 = g.const("zero_c", [0], np.int64), g.const("one_c", [1], np.int64)
    batch = g.node("Gather", [g.node("Shape", [boxes_name]), c0], axis=0)                 # [1]
    img_ids = g.node("Range", [g.node("Squeeze", [c0], axes=[0]), g.node("Squeeze", [batch], axes=[0]),
                               g.node("Squeeze", [c1], axes=[0])])                        # [B]
    eq = g.node("Equal", [g.node("Unsqueeze", [image], axes=[1]), g.node("Unsqueeze", [img_ids], axes=[0])])
    counts = g.node("ReduceSum", [g.node("Cast", [eq], to=g.TensorProto.INT32)], axes=[0], keepdims=0)
    g.node("Identity", [counts], ["bbox_num"])


def append_nms(onnx_model, boxes_name, scores_name, post, num_classes, extras_name=None):
    """Append the NMS subgraph to ``onnx_model``; its outputs become ``bbox`` [N, 6 + E] (the detector's record:
    class, score, box, extras) and ``bbox_num`` [B].

    Args:
        onnx_model: the network graph with outputs ``boxes_name`` [B, A, 4] and ``scores_name`` [B, 1, A]
            (and ``extras_name`` [B, A, E]) and inputs ``im_shape``, ``scale_factor``.
        post: the model's :class:`FacePostProcess` (thresholds, ``clip`` mode).
        num_classes (int): foreground classes (1 only).
        extras_name (str|None): the per-anchor extras output, carried to the kept rows. Default: None.

    Raises:
        NotImplementedError: more than one foreground class.
    """
    if num_classes != 1:
        raise NotImplementedError(f"ONNX export supports one foreground class (got {num_classes}); "
                                  "export with --format paddle")
    g = _Graph()
    width = _last_dim(onnx_model, extras_name) if extras_name else 0
    top_v, cand_boxes, cand_extras = _candidates(g, boxes_name, scores_name, post,
                                                 (extras_name, width) if extras_name else None)
    image, scores, boxes, extras = _select(g, top_v, cand_boxes, post, cand_extras)
    if post.clip == "after_nms":
        image, scores, boxes, extras = _clip_rows(g, image, scores, boxes, extras)
    out_class = g.node("Mul", [scores, g.const("fzero", [0.0], np.float32)])
    g.node("Concat", [out_class, scores, boxes, *([extras] if extras else [])], ["bbox"], axis=1)
    _counts(g, boxes_name, image)
    graph = onnx_model.graph
    graph.node.extend(g.nodes)
    graph.initializer.extend(g.inits)
    del graph.output[:]
    graph.output.extend([g.helper.make_tensor_value_info("bbox", g.TensorProto.FLOAT, [None, 6 + width]),
                         g.helper.make_tensor_value_info("bbox_num", g.TensorProto.INT32, [None])])
