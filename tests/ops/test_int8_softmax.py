"""Integer SOFTMAX and L2_NORMALIZATION, bit-exact with LiteRT's reference kernels over
random scales and zero points and edge cases."""

import numpy as np
import pytest

from tests.quantmodels import QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32
EVERY_INT8 = np.arange(-128, 128).astype(np.int8)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("scale", [0.01, 0.0625, 0.2, 1.5])
@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_softmax_8bit(dtype, scale, beta):
    zero = 3 if dtype == np.int8 else 130
    out_zero = -128 if dtype == np.int8 else 0
    graph = quant_graph("SOFTMAX", [QInput((3, 2, 17), dtype, qp(F32(scale), zero))],
                        {"beta": beta}, [(dtype, qp(F32(1 / 256), out_zero))])
    assert_bit_exact(graph)


def test_softmax_int8_extremes():
    graph = quant_graph("SOFTMAX", [QInput((4, 256), np.int8, qp(F32(0.1), 0))], {"beta": 1.0},
                        [(np.int8, qp(F32(1 / 256), -128))])
    x = np.stack([EVERY_INT8, np.full(256, -128, np.int8), np.full(256, 127, np.int8),
                  EVERY_INT8[::-1]])
    assert_bit_exact(graph, [x])


# -- L2_NORMALIZATION --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,out_zero", [(np.int8, 0), (np.uint8, 128)])
@pytest.mark.parametrize("shape", [(2, 3, 4, 8), (5, 1), (3, 300), (4, 2)])
@pytest.mark.parametrize("in_zero", [0, -128, 37])
def test_l2_normalization_8bit(dtype, out_zero, shape, in_zero):
    in_zero = in_zero + (128 if dtype == np.uint8 else 0)
    graph = quant_graph("L2_NORMALIZATION", [QInput(shape, dtype, qp(F32(0.05), in_zero))],
                        {"fused_activation_function": "NONE"},
                        [(dtype, qp(F32(1 / 128), out_zero))])
    assert_bit_exact(graph)


def test_l2_normalization_int8_small_and_zero_rows():
    # rows whose sum of squares is 0, 1, tiny or maximal (every branch of the inverse sqrt)
    x = np.zeros((6, 16), np.int8)
    x[1, 0] = 1
    x[2, :2] = [1, -1]
    x[3, :3] = [3, -4, 12]
    x[4] = -128
    x[5] = EVERY_INT8[::16]
    graph = quant_graph("L2_NORMALIZATION", [QInput((6, 16), np.int8, qp(F32(0.1), 0))],
                        {"fused_activation_function": "NONE"}, [(np.int8, qp(F32(1 / 128), 0))])
    assert_bit_exact(graph, [x])
