"""The data-movement ops on int8 (`OpDef.moves_data`: their float kernel runs on the integers),
bit-exact with LiteRT's reference kernels."""

import numpy as np
import pytest

from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32


DATA_MOVES = [
    ("RESHAPE", [QConst(np.array([6, 20], np.int32))], {"new_shape": [6, 20]}),
    ("TRANSPOSE", [QConst(np.array([0, 3, 1, 2], np.int32))], {}),
    ("SQUEEZE", [], {"squeeze_dims": []}),
    ("EXPAND_DIMS", [QConst(np.array(1, np.int32))], {}),
    ("SLICE", [QConst(np.array([0, 1, 0, 1], np.int32)), QConst(np.array([2, 2, 4, 3], np.int32))],
     {}),
    ("STRIDED_SLICE", [QConst(np.array([0, 0, 1, 0], np.int32)),
                       QConst(np.array([2, 3, 4, 5], np.int32)),
                       QConst(np.array([1, 2, 2, 1], np.int32))],
     dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0, shrink_axis_mask=0,
          offset=False)),
    ("GATHER", [QConst(np.array([2, 0, 2], np.int32))], {"axis": 2, "batch_dims": 0}),
    ("RESIZE_NEAREST_NEIGHBOR", [QConst(np.array([6, 7], np.int32))],
     {"align_corners": False, "half_pixel_centers": True}),
    ("MAX_POOL_2D", [], dict(padding="SAME", stride_h=2, stride_w=2, filter_height=2,
                             filter_width=2, fused_activation_function="NONE")),
]


@pytest.mark.parametrize("op_type,extra,attrs", DATA_MOVES, ids=[m[0] for m in DATA_MOVES])
def test_data_movement_int8(op_type, extra, attrs):
    quant = qp(F32(0.05), -6)
    graph = quant_graph(op_type, [QInput((2, 3, 4, 5), np.int8, quant), *extra], attrs,
                        [(np.int8, quant)])
    assert_bit_exact(graph)


def test_gather_int8_embedding_table():
    """A quantized table of constants, rows picked by runtime indices."""
    quant = qp(F32(0.05), -6)
    table = np.random.default_rng(0).integers(-128, 128, (10, 4)).astype(np.int8)
    graph = quant_graph("GATHER", [QConst(table, quant), QInput((3, 2), np.int32, None)],
                        {"axis": 0, "batch_dims": 0}, [(np.int8, quant)])
    indices = np.array([[9, 0], [3, 3], [1, 7]], np.int32)
    (out,) = assert_bit_exact(graph, [indices])
    np.testing.assert_array_equal(out, table[indices])


@pytest.mark.parametrize("op_type", ["DEPTH_TO_SPACE", "SPACE_TO_DEPTH"])
def test_depth_space_int8(op_type):
    quant = qp(F32(0.05), -6)
    graph = quant_graph(op_type, [QInput((2, 4, 6, 8), np.int8, quant)], {"block_size": 2},
                        [(np.int8, quant)])
    # BUILTIN_REF registers DEPTH_TO_SPACE version 1 only; int8 needs version 2.
    assert_bit_exact(graph, reference=op_type != "DEPTH_TO_SPACE")
