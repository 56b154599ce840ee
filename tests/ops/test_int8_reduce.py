"""Integer MEAN and SUM, bit-exact with LiteRT's reference kernels over random scales and
zero points, axes and keep_dims."""

import numpy as np
import pytest

from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32


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
