"""Integer LOGISTIC and TANH (LUTPopulate tables), bit-exact with LiteRT's reference kernels
over every 8-bit input value."""

import numpy as np
import pytest

from tests.quantmodels import QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32
EVERY_INT8 = np.arange(-128, 128).astype(np.int8)


@pytest.mark.parametrize("op_type,out_quant", [("LOGISTIC", (1 / 256, -128)),
                                               ("TANH", (1 / 128, 0))])
@pytest.mark.parametrize("scale,zero", [(0.01, 0), (0.05, -20), (0.1, 100), (0.5, -128)])
def test_logistic_tanh_int8_every_value(op_type, out_quant, scale, zero):
    graph = quant_graph(op_type, [QInput((1, 256), np.int8, qp(F32(scale), zero))], {},
                        [(np.int8, qp(F32(out_quant[0]), out_quant[1]))])
    assert_bit_exact(graph, [EVERY_INT8.reshape(1, 256)])
