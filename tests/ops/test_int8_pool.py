"""Integer MAX_POOL_2D and AVERAGE_POOL_2D, bit-exact with LiteRT's reference kernels."""

import numpy as np
import pytest

from tests.quantmodels import QInput, assert_bit_exact, qp, quant_graph


def pool_graph(op_type, dtype, padding, strides, size, activation, zero=-7, scale=0.05,
               shape=(2, 9, 8, 3)):
    quant = qp(np.float32(scale), zero)
    attrs = dict(padding=padding, stride_h=strides[0], stride_w=strides[1],
                 filter_height=size[0], filter_width=size[1],
                 fused_activation_function=activation)
    return quant_graph(op_type, [QInput(shape, dtype, quant)], attrs, [(dtype, quant)])


@pytest.mark.parametrize("op_type", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("strides,size", [((1, 1), (2, 2)), ((2, 2), (3, 3)), ((2, 1), (3, 2)),
                                          ((3, 3), (1, 1))])
@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6"])
def test_pool_int8(op_type, padding, strides, size, activation):
    assert_bit_exact(pool_graph(op_type, np.int8, padding, strides, size, activation))


@pytest.mark.parametrize("op_type", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
def test_pool_uint8(op_type):
    assert_bit_exact(pool_graph(op_type, np.uint8, "SAME", (2, 2), (3, 3), "RELU_N1_TO_1",
                                zero=130, scale=0.01))


@pytest.mark.parametrize("op_type", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
def test_pool_int8_extremes(op_type):
    graph = pool_graph(op_type, np.int8, "SAME", (2, 2), (3, 3), "NONE", shape=(1, 5, 5, 2))
    for value in (-128, 127):
        assert_bit_exact(graph, [np.full((1, 5, 5, 2), value, np.int8)])
    x = np.array([-128, 127, -3, -2, 2], np.int8)[np.arange(50) % 5].reshape(1, 5, 5, 2)
    assert_bit_exact(graph, [x])


def test_global_average_pool_int8():
    assert_bit_exact(pool_graph("AVERAGE_POOL_2D", np.int8, "VALID", (1, 1), (7, 7), "NONE",
                                shape=(3, 7, 7, 16)))
