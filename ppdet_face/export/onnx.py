"""ONNX export: paddle2onnx on the network up to decoded boxes and scores, ``LeakyRelu`` restored,
our own NMS subgraph appended (:mod:`.onnx_nms`)."""
import os
import shutil
import tempfile

from ppdet_face.utils.logging import get_logger

from .onnx_nms import append_nms
from .program import InferenceDetector, export_input_spec, export_program

__all__ = ["export_onnx", "fix_onnx_graph"]

logger = get_logger("export")


def fix_onnx_graph(onnx_model):
    """Rewrite ``Max(x, Mul(x, a))`` (``0 < a < 1`` scalar) into ``LeakyRelu(x, alpha=a)``.

    Returns the number of rewrites. Also raises if the graph has a ``LeakyRelu`` whose alpha
    is not a sane slope (the paddle2onnx double-as-float bug), which we never expect here.
    """
    from onnx import helper, numpy_helper

    graph = onnx_model.graph
    consts = {init.name: init for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    consts[node.output[0]] = attr.t
    producers = {out: node for node in graph.node for out in node.output}
    consumers = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in graph.output}

    def scalar(name):
        if name not in consts:
            return None
        arr = numpy_helper.to_array(consts[name])
        return float(arr.reshape(-1)[0]) if arr.size == 1 else None

    def zero(name):
        value = scalar(name)
        return value is not None and value == 0.0

    def through(name):
        """Walk back from ``name`` over Identity and ``+ 0`` nodes: (source name, nodes passed)."""
        chain = []
        while name in producers and name not in graph_outputs and len(consumers.get(name, [])) == 1:
            node = producers[name]
            if node.op_type == "Identity":
                chain.append(node)
                name = node.input[0]
            elif node.op_type == "Add" and len(node.input) == 2 and (zero(node.input[0]) or zero(node.input[1])):
                chain.append(node)
                name = node.input[1] if zero(node.input[0]) else node.input[0]
            else:
                break
        return name, chain

    def source(name):
        while name in producers and producers[name].op_type == "Identity":
            name = producers[name].input[0]
        return name

    rewrites, drop = [], set()
    for node in graph.node:
        if node.op_type != "Max" or len(node.input) != 2:
            continue
        for x_name, m_name in (node.input, node.input[::-1]):
            m_name, chain = through(m_name)
            mul = producers.get(m_name)
            if mul is None or mul.op_type != "Mul" or len(consumers.get(m_name, [])) != 1 or m_name in graph_outputs:
                continue
            srcs = [source(i) for i in mul.input]
            if source(x_name) not in srcs:
                continue
            other = mul.input[1] if srcs[0] == source(x_name) else mul.input[0]
            alpha = scalar(other) if scalar(other) is not None else scalar(source(other))  # Identity(Constant)
            if alpha is None or not 0.0 < alpha < 1.0:
                continue
            rewrites.append((node, [mul] + chain, x_name, alpha))
            break
    new_nodes = {}
    for node, dead, x_name, alpha in rewrites:
        drop.update(id(n) for n in dead)
        new_nodes[id(node)] = helper.make_node("LeakyRelu", [x_name], list(node.output), name=node.name + "_leaky",
                                               alpha=alpha)
    kept = []
    for node in graph.node:
        if id(node) in drop:
            continue
        kept.append(new_nodes.get(id(node), node))
    # Drop nodes left without consumers (e.g. the Identity that fed the removed Mul).
    while True:
        used = {name for node in kept for name in node.input} | graph_outputs
        alive = [node for node in kept if any(out in used for out in node.output)]
        if len(alive) == len(kept):
            break
        kept = alive
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in kept for name in node.input}
    unused = [init for init in graph.initializer if init.name not in used]
    for init in unused:
        graph.initializer.remove(init)
    for node in graph.node:
        if node.op_type == "LeakyRelu":
            alpha = next((a.f for a in node.attribute if a.name == "alpha"), 0.01)
            if not 1e-6 < alpha < 1.0:
                raise RuntimeError(f"ONNX LeakyRelu {node.name} has alpha={alpha!r} (paddle2onnx attribute bug)")
    return len(rewrites)


def export_onnx(model, save_dir, fixed_shape=None, opset=11, check=True):
    """Write ``save_dir/model.onnx`` (inputs/outputs as the Paddle program). Returns its path.

    The network up to decoded, clipped boxes and scores goes through paddle2onnx; NMS is our
    own ONNX subgraph; ``Max(x, a*x)`` is folded back into ``LeakyRelu``.
    """
    import onnx
    import paddle2onnx

    os.makedirs(save_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="ppdet_face_onnx_")
    try:
        export_program(InferenceDetector(model, with_nms=False, fixed_shape=fixed_shape), tmp,
                       export_input_spec(fixed_shape), target="onnx", fixed_shape=fixed_shape)
        program = os.path.join(tmp, "model.json")
        if not os.path.isfile(program):
            program = os.path.join(tmp, "model.pdmodel")
        raw = os.path.join(tmp, "raw.onnx")
        os.environ.setdefault("POLYGRAPHY_AUTOINSTALL_DEPS", "0")
        paddle2onnx.export(program, os.path.join(tmp, "model.pdiparams"), raw, opset_version=opset,
                           enable_onnx_checker=True, enable_optimize=False, verbose=False)
        onnx_model = onnx.load(raw)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    version = max((o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")), default=opset)
    if version > 12:  # our NMS subgraph uses the opset-11/12 forms of Squeeze, Unsqueeze and ReduceSum
        raise RuntimeError(f"paddle2onnx raised the opset to {version}; the appended NMS needs opset <= 12")
    outputs = [o.name for o in onnx_model.graph.output]
    if len(outputs) != 2:
        raise RuntimeError(f"unexpected paddle2onnx outputs {outputs}")
    fixed = fix_onnx_graph(onnx_model)
    append_nms(onnx_model, outputs[0], outputs[1], model.post_process, model.num_classes)
    onnx_model.producer_name = "ppdet_face"
    if check:
        onnx.checker.check_model(onnx_model)
    path = os.path.join(save_dir, "model.onnx")
    onnx.save(onnx_model, path)
    logger.info("ONNX model written to %s (%d LeakyRelu restored, NMS appended)", path, fixed)
    return path
