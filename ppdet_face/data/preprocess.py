"""The one reading of a config's reader section for inference: export and evaluation both use it.

A reader's ``sample_transforms`` become the deploy preprocessing list written to ``infer_cfg.yml``
(op dicts with a ``type``), and the evaluation takes its normalisation from the same list.
"""
__all__ = ["DEPLOY_TRANSFORMS", "normalization", "reader_preprocess"]

#: Reader transforms with a deploy equivalent (``Decode`` is implicit in every predictor).
DEPLOY_TRANSFORMS = ("Decode", "Resize", "NormalizeImage", "Permute", "PadStride")


def _deploy_op(name, args, reader):
    if name == "NormalizeImage":
        norm_type = args.get("norm_type", "mean_std")
        if norm_type != "mean_std":
            raise ValueError(f"{reader}.NormalizeImage: norm_type {norm_type!r} is not supported")
        return {"type": "NormalizeImage", "mean": [float(v) for v in args.get("mean", [0.485, 0.456, 0.406])],
                "std": [float(v) for v in args.get("std", [0.229, 0.224, 0.225])],
                "is_scale": bool(args.get("is_scale", True)), "norm_type": norm_type}
    if name == "Resize":
        return {"type": "Resize", "target_size": [int(v) for v in args["target_size"]],
                "keep_ratio": bool(args.get("keep_ratio", True)), "interp": int(args.get("interp", 1))}
    if name == "Permute":
        return {"type": "Permute"}
    if name == "PadStride":
        return {"type": name, **args}
    raise ValueError(f"{reader} transform {name} has no deploy equivalent; supported: {', '.join(DEPLOY_TRANSFORMS)}")


def reader_preprocess(cfg, reader="TestReader", fixed_shape=None):
    """The inference preprocessing of ``cfg[reader]`` (``TestReader`` falls back to ``EvalReader``).

    Args:
        cfg (dict): a loaded config.
        reader (str): ``"TestReader"`` or ``"EvalReader"``. Default: "TestReader".
        fixed_shape (int|list|None): a fixed network input: the reader's ``Resize`` is replaced by a
            ``Resize`` to it (``keep_ratio: False``). Default: None.

    Returns:
        list[dict]: ops in order (``Decode`` left out), ending with ``Permute``.

    Raises:
        ValueError: a transform without deploy equivalent, or an unsupported ``norm_type``.
    """
    section = cfg.get(reader) or (cfg.get("EvalReader") if reader == "TestReader" else None) or {}
    ops = []
    for item in section.get("sample_transforms", []) or []:
        (name, args), = item.items()
        if name == "Decode" or (name == "Resize" and fixed_shape):
            continue
        ops.append(_deploy_op(name, dict(args or {}), reader))
    if fixed_shape:
        h, w = (fixed_shape, fixed_shape) if isinstance(fixed_shape, int) else fixed_shape
        ops.insert(0, {"type": "Resize", "target_size": [int(h), int(w)], "keep_ratio": False, "interp": 1})
    if not any(op["type"] == "Permute" for op in ops):
        ops.append({"type": "Permute"})
    return ops


def normalization(cfg, reader="EvalReader"):
    """``(mean, std, is_scale)`` of the reader's ``NormalizeImage`` (mean in config order, on RGB images).

    Raises:
        ValueError: the reader has no ``NormalizeImage`` (or a transform without deploy equivalent).
    """
    for op in reader_preprocess(cfg, reader):
        if op["type"] == "NormalizeImage":
            return op["mean"], op["std"], op["is_scale"]
    raise ValueError(f"the config has no NormalizeImage in {reader}.sample_transforms")
