import numpy as np
import pytest

from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph

TOL = dict(rtol=1e-5, atol=1e-5)


def weights(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def fc_attrs(activation="NONE", keep_num_dims=False):
    return {"fused_activation_function": activation, "keep_num_dims": keep_num_dims}


@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
@pytest.mark.parametrize("bias", ["const", "absent", "dropped"])
@pytest.mark.parametrize("x_shape", [(1, 16), (3, 16), (2, 3, 8), (4, 2, 2, 4)])
def test_fully_connected_matches_litert(x_shape, bias, activation):
    # Flattened to rows of 16 inputs; "absent" is a -1 bias slot, "dropped" no slot at all.
    w = weights((5, 16))
    inputs = [Input(x_shape), w, {"const": weights(5, 2), "absent": None}.get(bias)]
    graph = op_graph("FULLY_CONNECTED", inputs[:2] if bias == "dropped" else inputs,
                     fc_attrs(activation))
    assert_matches_litert(graph, **TOL)
    assert graph.tensors["out0"].shape == (int(np.prod(x_shape)) // 16, 5)
    assert get_op("FULLY_CONNECTED").version(graph.ops[0], graph) == (6 if bias == "dropped"
                                                                      else 1)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape", [(3, 8), (2, 3, 8), (2, 1, 3, 8)])
def test_fully_connected_keep_num_dims(x_shape, bias):
    inputs = [Input(x_shape), weights((6, 8)), weights(6, 2) if bias else None]
    graph = op_graph("FULLY_CONNECTED", inputs, fc_attrs("RELU", keep_num_dims=True))
    assert_matches_litert(graph, **TOL)
    assert graph.tensors["out0"].shape == (*x_shape[:-1], 6)
    assert get_op("FULLY_CONNECTED").version(graph.ops[0], graph) == 5


def test_fully_connected_runtime_weights():
    graph = op_graph("FULLY_CONNECTED", [Input((4, 10)), Input((3, 10)), Input((3,))],
                     fc_attrs())
    assert_matches_litert(graph, **TOL)


def test_fully_connected_agrees_with_xnnpack():
    graph = op_graph("FULLY_CONNECTED", [Input((16, 256)), weights((100, 256)), weights(100, 2)],
                     fc_attrs("RELU6"))
    assert_matches_litert(graph, rtol=1e-4, atol=1e-4, reference=False)


@pytest.mark.parametrize("adj_x", [False, True])
@pytest.mark.parametrize("adj_y", [False, True])
@pytest.mark.parametrize("shapes", [
    ((3, 4), (4, 5)),                  # plain matrices
    ((2, 3, 4), (2, 4, 5)),            # same batch
    ((2, 1, 3, 4), (3, 4, 5)),         # broadcast batch dims of different rank
    ((1, 3, 4), (4, 4, 5)),            # broadcast a batch of one
    ((2, 3, 4), (4, 5)),               # matrix on the right
])
def test_batch_matmul_matches_litert(shapes, adj_x, adj_y):
    x_shape, y_shape = (list(s) for s in shapes)
    if adj_x:
        x_shape[-2:] = x_shape[:-3:-1]
    if adj_y:
        y_shape[-2:] = y_shape[:-3:-1]
    graph = op_graph("BATCH_MATMUL", [Input(tuple(x_shape)), Input(tuple(y_shape))],
                     {"adj_x": adj_x, "adj_y": adj_y})
    assert_matches_litert(graph, **TOL)
    assert graph.tensors["out0"].shape[-2:] == (3, 5)


def test_batch_matmul_constant_rhs():
    graph = op_graph("BATCH_MATMUL", [Input((2, 3, 6)), weights((2, 6, 4))],
                     {"adj_x": False, "adj_y": False})
    assert_matches_litert(graph, **TOL)


def test_batch_matmul_agrees_with_xnnpack():
    graph = op_graph("BATCH_MATMUL", [Input((4, 8, 32)), Input((4, 32, 16))],
                     {"adj_x": False, "adj_y": False})
    assert_matches_litert(graph, rtol=1e-4, atol=1e-4, reference=False)
