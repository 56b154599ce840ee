"""Integer RESIZE_BILINEAR, SUM, BATCH_MATMUL, SQUARED_DIFFERENCE, L2_NORMALIZATION,
LOG_SOFTMAX and CONCATENATION (uint8 requantization), bit-exact with LiteRT's reference
kernels over random scales and zero points, options and edge cases."""

import numpy as np
import pytest

from edgeport.errors import UnsupportedOpError
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


# -- SUM ----------------------------------------------------------------------------------------
# LiteRT 2.3's BUILTIN_REF SUM reads int8 data as uint8 (a LiteRT bug: its outputs are the
# reference uint8 arithmetic on the reinterpreted bytes). Our kernel runs that arithmetic on the
# tensor's real type, so int8 is checked by running our kernel on the uint8 twin of the graph
# (same scales and zero points) against BUILTIN_REF on the int8 graph, byte for byte.
def sum_graph(dtype, shape, axes, keep, scales):
    s_in, z_in, s_out, z_out = scales
    return quant_graph("SUM", [QInput(shape, dtype, qp(F32(s_in), z_in)),
                               QConst(np.array(axes, np.int32))], {"keep_dims": keep},
                       [(dtype, qp(F32(s_out), z_out))])


@pytest.mark.parametrize("axes,keep", [([1, 2], True), ([1, 2], False), ([-1], False),
                                       ([0, 3], True), ([1], True), ([0, 1, 2, 3], False)])
@pytest.mark.parametrize("scales", [(0.05, -5, 1.0, 7), (0.02, 10, 0.3, -3),
                                    (0.1, -128, 0.1, 127), (0.01, 3, 0.005, 0)])
def test_sum_int8_reference_arithmetic(axes, keep, scales):
    from edgeport.export.tflite import write_tflite
    from tests.oracles.litert import run_edgeport, run_litert
    from tests.quantmodels import random_quantized

    graph = sum_graph(np.int8, (2, 5, 7, 3), axes, keep, scales)
    twin = sum_graph(np.uint8, (2, 5, 7, 3), axes, keep, scales)
    (x,) = random_quantized(graph)
    (want,) = run_litert(write_tflite(graph), [x])
    (got,) = run_edgeport(write_tflite(twin), [x.view(np.uint8)])
    np.testing.assert_array_equal(got.view(np.int8), want)
    (ours,) = run_edgeport(write_tflite(graph), [x])
    assert ours.dtype == np.int8 and ours.shape == want.shape


def test_sum_uint8_same_params_saturates():
    # Same input and output parameters: still centered, rescaled (by 1) and saturated.
    quant = qp(F32(0.05), 130)
    graph = quant_graph("SUM", [QInput((3, 9, 4), np.uint8, quant),
                                QConst(np.array([1], np.int32))], {"keep_dims": False},
                        [(np.uint8, quant)])
    (out,) = assert_bit_exact(graph)
    assert np.any(out == 0) and np.any(out == 255)


@pytest.mark.parametrize("scales", [(0.02, 128, 0.5, 100), (0.05, 0, 0.05, 255),
                                    (0.01, 255, 0.3, 0)])
def test_sum_uint8_rescaled(scales):
    s_in, z_in, s_out, z_out = scales
    graph = quant_graph("SUM", [QInput((2, 6, 5), np.uint8, qp(F32(s_in), z_in)),
                                QConst(np.array([1, 2], np.int32))], {"keep_dims": True},
                        [(np.uint8, qp(F32(s_out), z_out))])
    assert_bit_exact(graph)


# -- BATCH_MATMUL ---------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,adj", [
    (((3, 4), (4, 5)), (False, False)),
    (((2, 3, 4), (2, 4, 5)), (False, False)),
    (((2, 4, 3), (2, 4, 5)), (True, False)),
    (((2, 3, 4), (2, 5, 4)), (False, True)),
    (((2, 1, 3, 6), (1, 4, 6, 2)), (False, False)),   # broadcast batches
    (((2, 3, 16), (16, 7)), (False, False)),
])
@pytest.mark.parametrize("seed", [0, 1])
def test_batch_matmul_int8(shapes, adj, seed):
    rng = np.random.default_rng(seed)
    s_x, s_y = rng.uniform(0.005, 0.1, 2).astype(F32)
    z_x, z_y, z_out = (int(v) for v in rng.integers(-128, 128, 3))
    s_out = F32(s_x * s_y * shapes[0][-1] * 60)
    graph = quant_graph("BATCH_MATMUL", [QInput(shapes[0], np.int8, qp(s_x, z_x)),
                                         QInput(shapes[1], np.int8, qp(s_y, z_y))],
                        {"adj_x": adj[0], "adj_y": adj[1], "asymmetric_quantize_inputs": False},
                        [(np.int8, qp(s_out, z_out))])
    assert_bit_exact(graph, seed=seed)


def test_batch_matmul_int8_constant_rhs_saturates():
    rng = np.random.default_rng(3)
    y = rng.integers(-128, 128, (8, 6)).astype(np.int8)
    graph = quant_graph("BATCH_MATMUL", [QInput((2, 4, 8), np.int8, qp(F32(0.1), -3)),
                                         QConst(y, qp(F32(0.05), 0))],
                        {"adj_x": False, "adj_y": False, "asymmetric_quantize_inputs": False},
                        [(np.int8, qp(F32(0.02), 5))])
    assert_bit_exact(graph)


# -- SQUARED_DIFFERENCE --------------------------------------------------------------------
@pytest.mark.parametrize("shapes", [((2, 4, 5, 3), (2, 4, 5, 3)), ((2, 4, 5, 3), (1, 1, 1, 3)),
                                    ((3, 1, 6), (4, 1))])
@pytest.mark.parametrize("scales", [(0.05, 0.05, 0.01), (0.1, 0.02, 0.5), (0.003, 0.01, 1e-4),
                                    (0.2, 0.2, 0.002)])
def test_squared_difference_int8(shapes, scales):
    rng = np.random.default_rng(len(shapes[1]))
    zeros = [int(z) for z in rng.integers(-128, 128, 3)]
    graph = quant_graph("SQUARED_DIFFERENCE",
                        [QInput(shapes[0], np.int8, qp(F32(scales[0]), zeros[0])),
                         QInput(shapes[1], np.int8, qp(F32(scales[1]), zeros[1]))], {},
                        [(np.int8, qp(F32(scales[2]), zeros[2]))])
    assert_bit_exact(graph)


def test_squared_difference_int8_every_pair():
    x = np.repeat(EVERY_INT8, 256).reshape(256, 256)
    graph = quant_graph("SQUARED_DIFFERENCE",
                        [QInput((256, 256), np.int8, qp(F32(0.03), -7)),
                         QInput((256, 256), np.int8, qp(F32(0.04), 12))], {},
                        [(np.int8, qp(F32(0.05), -128))])
    assert_bit_exact(graph, [x, x.T.copy()])


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
