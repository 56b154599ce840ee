"""Integer RESIZE_BILINEAR, bit-exact with LiteRT's reference kernel over sizes, options and
extreme values."""

import numpy as np
import pytest

from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32
EVERY_INT8 = np.arange(-128, 128).astype(np.int8)


# -- RESIZE_BILINEAR ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("size", [(7, 9), (2, 3), (8, 10), (1, 1), (13, 4)])
@pytest.mark.parametrize("align,half", [(False, False), (True, False), (False, True)])
def test_resize_bilinear_8bit(dtype, size, align, half):
    quant = qp(F32(0.05), -9 if dtype == np.int8 else 120)
    graph = quant_graph("RESIZE_BILINEAR", [QInput((2, 4, 5, 3), dtype, quant),
                                            QConst(np.array(size, np.int32))],
                        {"align_corners": align, "half_pixel_centers": half}, [(dtype, quant)])
    assert_bit_exact(graph)


def test_resize_bilinear_int8_extremes():
    # every value next to its extremes: rounding of negative sums, no overflow at -128/127
    x = np.stack([EVERY_INT8.reshape(16, 16), np.full((16, 16), -128, np.int8),
                  np.full((16, 16), 127, np.int8)]).reshape(1, 16, 16, 3)
    quant = qp(F32(0.1), 0)
    graph = quant_graph("RESIZE_BILINEAR", [QInput((1, 16, 16, 3), np.int8, quant),
                                            QConst(np.array([37, 23], np.int32))],
                        {"align_corners": False, "half_pixel_centers": True}, [(np.int8, quant)])
    assert_bit_exact(graph, [x])
