import numpy as np
import pytest

from edgeport.graph import Graph, Op, Tensor
from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph

POOLS = ["MAX_POOL_2D", "AVERAGE_POOL_2D"]


def pool_attrs(padding, stride, size, activation="NONE"):
    return {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
            "filter_height": size[0], "filter_width": size[1],
            "fused_activation_function": activation}


@pytest.mark.parametrize("op_type", POOLS)
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (3, 2)])
@pytest.mark.parametrize("size", [(2, 2), (3, 3), (3, 2), (5, 4)])
@pytest.mark.parametrize("x_shape", [(1, 7, 9, 3), (3, 10, 10, 2)])
def test_pool_matches_litert(op_type, x_shape, size, stride, padding):
    graph = op_graph(op_type, [Input(x_shape)], pool_attrs(padding, stride, size))
    assert_matches_litert(graph, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op_type", POOLS)
@pytest.mark.parametrize("activation", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_pool_fused_activation(op_type, activation):
    graph = op_graph(op_type, [Input((2, 6, 5, 4))], pool_attrs("SAME", (2, 2), (3, 3), activation))
    assert_matches_litert(graph, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op_type", POOLS)
def test_global_pool(op_type):
    # A filter as large as the image: MobileNet's final pooling.
    graph = op_graph(op_type, [Input((2, 7, 7, 8))], pool_attrs("VALID", (1, 1), (7, 7)))
    assert_matches_litert(graph, rtol=1e-5, atol=1e-5)
    assert graph.tensors["out0"].shape == (2, 1, 1, 8)


@pytest.mark.parametrize("op_type", POOLS)
def test_global_pool_over_a_padded_image(op_type):
    # SAME with a window as large as the padded image: one output, averaging in-image taps.
    graph = op_graph(op_type, [Input((2, 7, 7, 3))], pool_attrs("SAME", (8, 8), (8, 8)))
    assert graph.tensors["out0"].shape == (2, 1, 1, 3)
    assert_matches_litert(graph, rtol=1e-5, atol=1e-5)


def test_average_pool_divides_by_in_image_taps():
    # A 3x3 SAME window at a corner sees 2x2 in-image taps of ones: the mean is 1, not 4/9.
    x = np.ones((1, 4, 4, 1), np.float32)
    out = get_op("AVERAGE_POOL_2D").run_float(pool_attrs("SAME", (1, 1), (3, 3)), x)
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("op_type", POOLS)
def test_pool_agrees_with_xnnpack(op_type):
    graph = op_graph(op_type, [Input((3, 13, 13, 16))], pool_attrs("SAME", (2, 2), (3, 3)))
    assert_matches_litert(graph, rtol=1e-5, atol=1e-5, reference=False)


@pytest.mark.parametrize("op_type", POOLS)
def test_pool_versions(op_type):
    def version(dtype):
        graph = Graph()
        graph.add_tensor(Tensor("x", (1, 4, 4, 1), dtype))
        graph.add_tensor(Tensor("y", (1, 2, 2, 1), dtype))
        op = graph.add_op(Op(op_type, ["x"], ["y"], pool_attrs("VALID", (2, 2), (2, 2))))
        return get_op(op_type).version(op, graph)

    assert (version(np.float32), version(np.int8), version(np.int16)) == (1, 2, 3)
