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


class _GraphIndex:
    """Producers, consumers and scalar constants of an ONNX graph."""

    def __init__(self, graph):
        from onnx import numpy_helper

        self.to_array = numpy_helper.to_array
        self.consts = {init.name: init for init in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant":
                self.consts.update({node.output[0]: a.t for a in node.attribute if a.name == "value"})
        self.producers = {out: node for node in graph.node for out in node.output}
        self.consumers = {}
        for node in graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {o.name for o in graph.output}

    def scalar(self, name):
        if name not in self.consts:
            return None
        arr = self.to_array(self.consts[name])
        return float(arr.reshape(-1)[0]) if arr.size == 1 else None

    def _zero(self, name):
        return self.scalar(name) == 0.0

    def single_use(self, name):
        return name not in self.outputs and len(self.consumers.get(name, [])) == 1

    def through(self, name):
        """Walk back from ``name`` over Identity and ``+ 0`` nodes: (source name, nodes passed)."""
        chain = []
        while name in self.producers and self.single_use(name):
            node = self.producers[name]
            if node.op_type == "Identity":
                name = node.input[0]
            elif node.op_type == "Add" and len(node.input) == 2 and any(self._zero(i) for i in node.input):
                name = node.input[1] if self._zero(node.input[0]) else node.input[0]
            else:
                break
            chain.append(node)
        return name, chain

    def source(self, name):
        while name in self.producers and self.producers[name].op_type == "Identity":
            name = self.producers[name].input[0]
        return name


def _leaky_pattern(index, node):
    """``(dead nodes, x, alpha)`` when ``node`` is ``Max(x, Mul(x, a))`` with a scalar ``0 < a < 1``, else None."""
    if node.op_type != "Max" or len(node.input) != 2:
        return None
    for x_name, m_name in (node.input, node.input[::-1]):
        m_name, chain = index.through(m_name)
        mul = index.producers.get(m_name)
        if mul is None or mul.op_type != "Mul" or not index.single_use(m_name):
            continue
        srcs = [index.source(i) for i in mul.input]
        if index.source(x_name) not in srcs:
            continue
        other = mul.input[1] if srcs[0] == index.source(x_name) else mul.input[0]
        alpha = index.scalar(other) if index.scalar(other) is not None else index.scalar(index.source(other))
        if alpha is not None and 0.0 < alpha < 1.0:
            return [mul] + chain, x_name, alpha
    return None


def _prune(graph, kept):
    """Keep ``kept`` nodes minus those left without consumers, and only the initializers still used."""
    outputs = {o.name for o in graph.output}
    while True:  # e.g. the Identity that fed a removed Mul
        used = {name for node in kept for name in node.input} | outputs
        alive = [node for node in kept if any(out in used for out in node.output)]
        if len(alive) == len(kept):
            break
        kept = alive
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in kept for name in node.input}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)


def fix_onnx_graph(onnx_model):
    """Rewrite ``Max(x, Mul(x, a))`` (``0 < a < 1`` scalar) into ``LeakyRelu(x, alpha=a)``.

    Returns the number of rewrites. Also raises if the graph has a ``LeakyRelu`` whose alpha
    is not a sane slope (the paddle2onnx double-as-float bug), which we never expect here.
    """
    from onnx import helper

    graph = onnx_model.graph
    index = _GraphIndex(graph)
    drop, new_nodes = set(), {}
    for node in graph.node:
        found = _leaky_pattern(index, node)
        if found is None:
            continue
        dead, x_name, alpha = found
        drop.update(id(n) for n in dead)
        new_nodes[id(node)] = helper.make_node("LeakyRelu", [x_name], list(node.output), name=node.name + "_leaky",
                                               alpha=alpha)
    _prune(graph, [new_nodes.get(id(node), node) for node in graph.node if id(node) not in drop])
    for node in graph.node:
        if node.op_type == "LeakyRelu":
            alpha = next((a.f for a in node.attribute if a.name == "alpha"), 0.01)
            if not 1e-6 < alpha < 1.0:
                raise RuntimeError(f"ONNX LeakyRelu {node.name} has alpha={alpha!r} (paddle2onnx attribute bug)")
    return len(new_nodes)


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
    if len(outputs) != (3 if model.extra_fields else 2):
        raise RuntimeError(f"unexpected paddle2onnx outputs {outputs}")
    fixed = fix_onnx_graph(onnx_model)
    append_nms(onnx_model, outputs[0], outputs[1], model.post_process, model.num_classes,
               extras_name=outputs[2] if model.extra_fields else None)
    onnx_model.producer_name = "ppdet_face"
    if check:
        onnx.checker.check_model(onnx_model)
    path = os.path.join(save_dir, "model.onnx")
    onnx.save(onnx_model, path)
    logger.info("ONNX model written to %s (%d LeakyRelu restored, NMS appended)", path, fixed)
    return path
