"""devtools/flops.py: FLOPs counted from ONNX graphs (our export and a hand-checked graph)."""
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from devtools.flops import count_flops
from helpers import export_random_model


@pytest.fixture(scope="module")
def random_onnx_export(tmp_path_factory):
    """(dygraph model, export dir) with model.onnx, dynamic H x W."""
    return export_random_model(tmp_path_factory.mktemp("flops_export"), fmt="onnx")


def test_flops_counter_counts_conv_macs_of_onnx_graphs(random_onnx_export, tmp_path):
    _, save_dir = random_onnx_export
    result = count_flops(os.path.join(save_dir, "model.onnx"), {"image": [1, 3, 640, 640]})
    assert 2.0e9 < result["flops"] < 2.6e9, result["flops"]  # BlazeFace-FPN-SSH at 640x640: ~2.27 GFLOP
    assert result["by_op"]["Conv"] == result["flops"]
    # A hand-checked graph: conv 3->8 3x3 stride 2 on 32x32 (16x16 out), then MatMul [1,8*16*16] x [2048, 10].
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 3, 3, 3], np.zeros(216, np.float32).tolist())
    m = helper.make_tensor("m", TensorProto.FLOAT, [2048, 10], np.zeros(20480, np.float32).tolist())
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [1, 2048])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
         helper.make_node("Reshape", ["y", "s"], ["r"]), helper.make_node("MatMul", ["r", "m"], ["z"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], [w, m, shape])
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    result = count_flops(str(path), {"x": [1, 3, 32, 32]})
    assert result["macs"] == 8 * 16 * 16 * 3 * 9 + 2048 * 10
    assert result["flops"] == 2 * result["macs"]
