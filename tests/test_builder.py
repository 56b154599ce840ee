"""The frontends' GraphBuilder on its own (no Keras): what the ONNX frontend will build on.
Ops are emitted with their shapes inferred, the batch kept dynamic, origins set to the piece
being read, and impossible shapes or ops refused naming the piece and the op."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.errors import ModelFormatError
from edgeport.frontends.builder import MAX_ELEMENTS, GraphBuilder
from edgeport.graph import Graph, Tensor
from edgeport.ops import TensorSpec
from edgeport.export.tflite import write_tflite
from edgeport.shapes import validate
from tests.oracles.litert import run_litert


def _graph_with_input(shape=(-1, 4, 4, 3)):
    graph = Graph()
    graph.add_tensor(Tensor("x", shape, np.float32))
    graph.inputs = ["x"]
    specs = {"x": TensorSpec((1, *shape[1:]), np.dtype(np.float32))}
    return graph, specs, {"x"}


def test_ops_get_shapes_batch_and_origin():
    graph, specs, dynamic = _graph_with_input()
    b = GraphBuilder(graph, specs, dynamic, "node_7", "model.onnx: node 'node_7' (Conv)")
    w = b.const(np.ones((2, 3, 3, 3), np.float32), suffix="weight")
    y = b.op("CONV_2D", [b.op("RELU", ["x"]), w, b.const(np.zeros(2, np.float32))],
             {"padding": "SAME", "stride_h": 1, "stride_w": 1})
    flat = b.reshape(y, [32])
    graph.outputs = [flat]
    assert graph.tensors[y].shape == (-1, 4, 4, 2) and y in dynamic
    assert graph.tensors[flat].shape == (-1, 32)
    assert {op.origin for op in graph.ops} == {"node_7"}
    assert all(name.startswith("node_7/") for op in graph.ops for name in op.outputs)
    x = np.random.default_rng(0).normal(size=(3, 4, 4, 3)).astype(np.float32)
    (out,) = run_litert(write_tflite(validate(graph)), [x])  # batch 3 through LiteRT
    padded = np.pad(np.maximum(x, 0).sum(-1), ((0, 0), (1, 1), (1, 1)))
    window_sums = sum(padded[:, i:i + 4, j:j + 4] for i in range(3) for j in range(3))
    np.testing.assert_allclose(out, np.repeat(window_sums[..., None], 2, -1).reshape(3, 32),
                               rtol=1e-5)


def test_impossible_shapes_and_ops_are_refused_naming_the_piece():
    graph, specs, dynamic = _graph_with_input((-1, 4))
    b = GraphBuilder(graph, specs, dynamic, "mm", "model.onnx: node 'mm' (MatMul)")
    with pytest.raises(ModelFormatError, match=r"node 'mm' \(MatMul\): its FULLY_CONNECTED op "
                                               r"cannot take inputs of shapes \[1, 4\], \[5, 3\]"):
        b.op("FULLY_CONNECTED", ["x", b.const(np.ones((5, 3), np.float32))])
    with pytest.raises(ModelFormatError, match=f"more than {MAX_ELEMENTS} elements"):
        b.check_size((1 << 20, 1 << 20), "its output")
    with pytest.raises(ModelFormatError, match="positive integer"):
        b.reshape("x", [0, 2])


def test_an_op_option_that_breaks_shape_inference_is_refused():
    graph, specs, dynamic = _graph_with_input()
    b = GraphBuilder(graph, specs, dynamic, "pool", "model.onnx: node 'pool' (MaxPool)")
    with pytest.raises(ModelFormatError, match="its MAX_POOL_2D op cannot take"):
        b.op("MAX_POOL_2D", ["x"], {"padding": "SAME", "filter_height": 2, "filter_width": 2,
                                    "stride_h": 0, "stride_w": 0})
