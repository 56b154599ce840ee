"""Integer PAD and PADV2, bit-exact with LiteRT's reference kernels."""

import numpy as np
import pytest

from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32


@pytest.mark.parametrize("zero", [-128, -3, 0, 77])
def test_pad_int8_fills_with_zero_point(zero):
    quant = qp(F32(0.1), zero)
    graph = quant_graph("PAD", [QInput((2, 3, 4, 2), np.int8, quant),
                                QConst(np.array([[0, 0], [1, 2], [2, 0], [0, 1]], np.int32))],
                        {}, [(np.int8, quant)])
    (out,) = assert_bit_exact(graph)
    assert out[0, 0, 0, 0] == zero


def test_padv2_int8():
    quant = qp(F32(0.1), 4)
    graph = quant_graph("PADV2", [QInput((2, 3, 4), np.int8, quant),
                                  QConst(np.array([[0, 1], [1, 0], [2, 2]], np.int32)),
                                  QConst(np.array(-9, np.int8), quant)], {}, [(np.int8, quant)])
    assert_bit_exact(graph)
