"""Integer CONCATENATION (shared parameters; uint8 requantization) and SPLIT, bit-exact with
LiteRT's reference kernels."""

import numpy as np
import pytest

from edgeport.errors import UnsupportedOpError
from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32


@pytest.mark.parametrize("axis", [0, 3, -1])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_concatenation_8bit_shared_params(axis, dtype):
    quant = qp(F32(0.07), 9 if dtype == np.int8 else 140)
    graph = quant_graph("CONCATENATION", [QInput((2, 3, 4, 5), dtype, quant),
                                          QInput((2, 3, 4, 5), dtype, quant)],
                        {"axis": axis, "fused_activation_function": "NONE"}, [(dtype, quant)])
    assert_bit_exact(graph)


# -- CONCATENATION -------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 2, -1])
@pytest.mark.parametrize("scales", [((0.05, 128), (0.1, 100), (0.07, 140)),
                                    ((0.01, 0), (0.01, 0), (0.5, 255)),
                                    ((0.3, 250), (0.02, 3), (0.02, 3))])
def test_concatenation_uint8_requantizes(axis, scales):
    (s1, z1), (s2, z2), (s_out, z_out) = scales
    graph = quant_graph("CONCATENATION", [QInput((2, 3, 4), np.uint8, qp(F32(s1), z1)),
                                          QInput((2, 3, 4), np.uint8, qp(F32(s2), z2))],
                        {"axis": axis, "fused_activation_function": "NONE"},
                        [(np.uint8, qp(F32(s_out), z_out))])
    assert_bit_exact(graph)


def test_concatenation_uint8_requantizes_every_value_with_one_rounding_per_step():
    """``q * scale + bias`` rounds the product first (the reference's two float32 steps); one
    fused multiply-add (what XLA makes of it) would put q=55 on 15 instead of 14 for
    s_in=0.0389511, zp_in=230 -> s_out=0.036746323, zp_out=200."""
    values = np.arange(256, dtype=np.uint8).reshape(1, 256)
    graph = quant_graph("CONCATENATION", [QInput((1, 256), np.uint8, qp(F32(0.0389511), 230)),
                                          QInput((1, 256), np.uint8, qp(F32(0.036746323), 200))],
                        {"axis": 0, "fused_activation_function": "NONE"},
                        [(np.uint8, qp(F32(0.036746323), 200))])
    (out,) = assert_bit_exact(graph, [values, values])
    assert out[0, 55] == 14


def test_concatenation_int8_different_params_refused():
    graph = quant_graph("CONCATENATION", [QInput((2, 3), np.int8, qp(F32(0.05), 0)),
                                          QInput((2, 3), np.int8, qp(F32(0.05), 0))],
                        {"axis": 0, "fused_activation_function": "NONE"},
                        [(np.int8, qp(F32(0.05), 0))])
    graph.tensors["in1"].quant = qp(F32(0.1), 3)
    from edgeport.ops import get_op

    with pytest.raises(UnsupportedOpError, match="scale and zero point"):
        get_op("CONCATENATION").prepare(graph.ops[0], graph)


def test_split_int8():
    quant = qp(F32(0.05), -6)
    graph = quant_graph("SPLIT", [QConst(np.array(3, np.int32)),
                                  QInput((2, 3, 4, 6), np.int8, quant)], {"num_splits": 3},
                        [(np.int8, quant)] * 3)
    assert_bit_exact(graph)
