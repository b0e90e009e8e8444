"""FLOPs of an ONNX graph: multiply-accumulates of Conv, ConvTranspose, MatMul and Gemm.

``paddle.flops`` (and ppdet's ``print_flops``) fails on numpy 2; counting from the ONNX graph
works for our own export and for other detectors' ONNX files alike::

    from devtools.flops import count_flops
    count_flops("model.onnx", {"image": [1, 3, 640, 640]})["flops"]   # 2 x MACs

Shapes come from ONNX shape inference (with symbolic data propagation) after fixing the given
input shapes. Where that cannot resolve a shape (shapes computed at run time, e.g. by
Shape/Gather/Range chains), the graph is run once with ONNX Runtime on dummy inputs and the
observed shapes are used. Only the ops above are counted (BatchNorm, activations, pooling
and element-wise ops are ignored, as is customary); FLOPs = 2 x MACs.

CLI (from the repository root): ``python -m devtools.flops model.onnx [--shape image=1,3,640,640]``.
"""
import argparse

import numpy as np

__all__ = ["count_flops"]

COUNTED_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def _dims(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for d in t.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None)
    return dims


def _fix_inputs(model, input_shapes):
    """Set the given input shapes; returns the names of inputs left with dynamic dims."""
    dynamic = []
    batch = next(iter(input_shapes.values()))[0] if input_shapes else None
    init_names = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in init_names:
            continue
        shape = input_shapes.get(inp.name)
        dims = inp.type.tensor_type.shape.dim
        if shape is None:
            known = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
            if batch is not None and known and known[0] is None:
                known[0] = batch  # e.g. im_shape [N, 2] follows image [N, 3, H, W]
            if None in known:
                dynamic.append(inp.name)
                continue
            shape = known
        if len(dims) != len(shape):
            raise ValueError(f"input {inp.name} has rank {len(dims)}, got shape {shape}")
        for d, v in zip(dims, shape):
            d.ClearField("dim_param")
            d.dim_value = int(v)
    return dynamic


def _static_shapes(model):
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except (onnx.shape_inference.InferenceError, RuntimeError, ValueError):
        inferred = model  # a graph onnx cannot infer still gets the runtime path
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        dims = _dims(vi)
        if dims is not None:
            shapes[vi.name] = dims
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    return shapes


def _runtime_shapes(model, names, input_shapes, feeds):
    """Run the graph once with extra outputs ``names`` and return their concrete shapes."""
    import onnx
    import onnxruntime as ort

    model = onnx.ModelProto.FromString(model.SerializeToString())
    existing = {o.name for o in model.graph.output}
    for name in names:
        if name not in existing:
            model.graph.output.append(onnx.ValueInfoProto(name=name))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    dtypes = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
              "tensor(int32)": np.int32, "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_}
    feed = dict(feeds or {})
    for inp in session.get_inputs():
        if inp.name in feed:
            continue
        shape = input_shapes.get(inp.name) or [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
        feed[inp.name] = np.ones(shape, dtypes.get(inp.type, np.float32))
    outs = session.run(list(names), feed)
    return {n: list(np.shape(o)) for n, o in zip(names, outs)}


def _attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            if a.type == a.INT:
                return a.i
            if a.type == a.INTS:
                return list(a.ints)
            if a.type == a.FLOAT:
                return a.f
    return default


def _node_macs(node, shape):
    """MACs of one node given ``shape(name) -> list[int]``."""
    op = node.op_type
    if op == "Conv":
        w, y = shape(node.input[1]), shape(node.output[0])
        # weight [Cout, Cin/groups, k...]; every output element costs Cin/groups * prod(k) MACs
        return int(np.prod(y)) * int(np.prod(w[1:]))
    if op == "ConvTranspose":
        x, w = shape(node.input[0]), shape(node.input[1])
        # weight [Cin, Cout/groups, k...]; every input element is spread over Cout/groups * prod(k)
        return int(np.prod(x)) * int(np.prod(w[1:]))
    if op == "MatMul":
        a, y = shape(node.input[0]), shape(node.output[0])
        return int(np.prod(y)) * int(a[-1])
    if op == "Gemm":
        a, y = shape(node.input[0]), shape(node.output[0])
        k = a[0] if _attr(node, "transA", 0) else a[-1]
        return int(np.prod(y)) * int(k)
    return 0


def count_flops(model, input_shapes=None, feeds=None):
    """Count the multiply-accumulates of an ONNX model.

    Args:
        model (str|onnx.ModelProto): path or loaded model.
        input_shapes (dict[str, list[int]]|None): concrete shapes of (dynamic) inputs, e.g.
            ``{"image": [1, 3, 640, 640]}``; other dynamic dims are taken as 1.
            Default: None.
        feeds (dict[str, np.ndarray]|None): actual inputs for the runtime fallback; None feeds
            ones of the given shapes. Default: None.

    Returns:
        dict: ``macs``, ``flops`` (2 x macs), ``by_op`` (flops per op type), ``layers``
        (``(name, op, flops)`` per counted node) and ``runtime_shapes`` (True when the runtime
        fallback was needed).
    """
    import onnx

    if isinstance(model, str):
        model = onnx.load(model)
    else:
        model = onnx.ModelProto.FromString(model.SerializeToString())
    input_shapes = {k: [int(v) for v in s] for k, s in (input_shapes or {}).items()}
    dynamic = [n for n in _fix_inputs(model, input_shapes) if n not in (feeds or {})]
    if dynamic:
        raise ValueError(f"inputs {dynamic} have dynamic dimensions: pass their shapes, "
                         f"e.g. input_shapes={{{dynamic[0]!r}: [1, 3, 640, 640]}}")
    shapes = _static_shapes(model)
    nodes = [n for n in model.graph.node if n.op_type in COUNTED_OPS]

    def needed(node):
        names = [node.output[0], node.input[1]] + ([node.input[0]] if node.op_type != "Conv" else [])
        return [n for n in names if n not in shapes or shapes[n] is None or None in shapes[n]]

    missing = sorted({n for node in nodes for n in needed(node)})
    used_runtime = False
    if missing:
        shapes.update(_runtime_shapes(model, missing, input_shapes, feeds))
        used_runtime = True

    layers, by_op, total = [], {}, 0
    for node in nodes:
        macs = _node_macs(node, lambda n: shapes[n])
        total += macs
        by_op[node.op_type] = by_op.get(node.op_type, 0) + 2 * macs
        layers.append((node.name or node.output[0], node.op_type, 2 * macs))
    return {"macs": total, "flops": 2 * total, "by_op": by_op, "layers": layers, "runtime_shapes": used_runtime}


def main(argv=None):
    """CLI: print the GFLOP of an ONNX model.

    Args:
        argv (list[str]|None): command-line arguments; None reads ``sys.argv``. Default: None.
    """
    parser = argparse.ArgumentParser(description="Count Conv/MatMul/Gemm FLOPs of an ONNX model")
    parser.add_argument("model")
    parser.add_argument("--shape", action="append", default=[], help="input=d0,d1,... (repeatable)")
    args = parser.parse_args(argv)
    shapes = {}
    for item in args.shape:
        name, _, dims = item.partition("=")
        try:
            shapes[name] = [int(v) for v in dims.split(",")]
        except ValueError:
            parser.error(f"--shape {item!r}: expected input=d0,d1,... with integer dims")
    result = count_flops(args.model, shapes)
    print(f"{result['flops'] / 1e9:.3f} GFLOP ({result['macs'] / 1e9:.3f} GMAC) in "
          f"{len(result['layers'])} layers; by op: "
          + ", ".join(f"{k} {v / 1e9:.3f}" for k, v in result["by_op"].items()))


if __name__ == "__main__":
    main()
