"""Integer SOFTMAX, LOGISTIC, TANH, MEAN, SUM, PAD, CONCATENATION and the data-movement ops,
bit-exact with LiteRT's reference kernels."""

import numpy as np
import pytest

from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32
EVERY_INT8 = np.arange(-128, 128, dtype=np.int8)


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


@pytest.mark.parametrize("op_type,out_quant", [("LOGISTIC", (1 / 256, -128)),
                                               ("TANH", (1 / 128, 0))])
@pytest.mark.parametrize("scale,zero", [(0.01, 0), (0.05, -20), (0.1, 100), (0.5, -128)])
def test_logistic_tanh_int8_every_value(op_type, out_quant, scale, zero):
    graph = quant_graph(op_type, [QInput((1, 256), np.int8, qp(F32(scale), zero))], {},
                        [(np.int8, qp(F32(out_quant[0]), out_quant[1]))])
    assert_bit_exact(graph, [EVERY_INT8.reshape(1, 256)])


@pytest.mark.parametrize("op_type", ["MEAN"])
@pytest.mark.parametrize("axes,keep", [([1, 2], True), ([1, 2], False), ([-1], False),
                                       ([0, 3], True), ([1], True)])
@pytest.mark.parametrize("scales", [(0.05, 0.05), (0.05, 0.02), (0.02, 0.3)])
def test_mean_sum_int8(op_type, axes, keep, scales):
    in_q = qp(F32(scales[0]), -5)
    out_scale = scales[1] * (20 if op_type == "SUM" else 1)
    graph = quant_graph(op_type, [QInput((2, 5, 7, 3), np.int8, in_q),
                                  QConst(np.array(axes, np.int32))], {"keep_dims": keep},
                        [(np.int8, qp(F32(out_scale), 7))])
    assert_bit_exact(graph)


def test_mean_int8_global_large():
    graph = quant_graph("MEAN", [QInput((2, 33, 31, 4), np.int8, qp(F32(0.1), -128)),
                                 QConst(np.array([1, 2], np.int32))], {"keep_dims": True},
                        [(np.int8, qp(F32(0.013), 11))])
    assert_bit_exact(graph)


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


@pytest.mark.parametrize("axis", [0, 3, -1])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_concatenation_8bit_shared_params(axis, dtype):
    quant = qp(F32(0.07), 9 if dtype == np.int8 else 140)
    graph = quant_graph("CONCATENATION", [QInput((2, 3, 4, 5), dtype, quant),
                                          QInput((2, 3, 4, 5), dtype, quant)],
                        {"axis": axis, "fused_activation_function": "NONE"}, [(dtype, quant)])
    assert_bit_exact(graph)


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


def test_split_int8():
    quant = qp(F32(0.05), -6)
    graph = quant_graph("SPLIT", [QConst(np.array(3, np.int32)),
                                  QInput((2, 3, 4, 6), np.int8, quant)], {"num_splits": 3},
                        [(np.int8, quant)] * 3)
    assert_bit_exact(graph)


@pytest.mark.parametrize("op_type", ["DEPTH_TO_SPACE", "SPACE_TO_DEPTH"])
def test_depth_space_int8(op_type):
    quant = qp(F32(0.05), -6)
    graph = quant_graph(op_type, [QInput((2, 4, 6, 8), np.int8, quant)], {"block_size": 2},
                        [(np.int8, quant)])
    # BUILTIN_REF registers DEPTH_TO_SPACE version 1 only; int8 needs version 2.
    assert_bit_exact(graph, reference=op_type != "DEPTH_TO_SPACE")
