"""Integer RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, HARD_SWISH and PRELU, bit-exact with
LiteRT's reference kernels over every 8-bit input value and random scales / zero points,
including rescaling multipliers >= 1, tiny scales and saturation."""

import numpy as np
import pytest

from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32
EVERY = {np.int8: np.arange(-128, 128).astype(np.int8),
         np.uint8: np.arange(0, 256).astype(np.uint8)}

# (input scale, input zero point, output scale, output zero point) for int8; uint8 cases add 128
SCALES = [
    (0.05, 0, 0.05, 0),           # identity rescale
    (0.02, -17, 0.05, 3),         # multiplier < 1
    (0.1, 40, 0.02, -100),        # multiplier > 1: saturates
    (1e-4, -128, 3e-5, 127),      # tiny scales
    (0.7, 127, 0.011, -128),      # extreme zero points
]


def every_value_graph(op_type, dtype, scales, attrs=None):
    s_in, z_in, s_out, z_out = scales
    shift = 128 if dtype == np.uint8 else 0
    return quant_graph(op_type, [QInput((1, 256), dtype, qp(F32(s_in), z_in + shift))],
                       attrs or {}, [(dtype, qp(F32(s_out), z_out + shift))])


def check_every_value(graph, dtype):
    return assert_bit_exact(graph, [EVERY[dtype].reshape(1, 256)])


def random_scales(seed, count=4):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        s_in, s_out = np.exp(rng.uniform(np.log(1e-3), np.log(1.0), 2))
        yield (F32(s_in), int(rng.integers(-128, 128)), F32(s_out), int(rng.integers(-128, 128)))


@pytest.mark.parametrize("op_type", ["RELU", "RELU6", "RELU_N1_TO_1"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("scales", SCALES)
def test_relu_family_every_value(op_type, dtype, scales):
    check_every_value(every_value_graph(op_type, dtype, scales), dtype)


@pytest.mark.parametrize("op_type", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_relu_family_random_scales(op_type):
    for scales in random_scales(1):
        check_every_value(every_value_graph(op_type, np.int8, scales), np.int8)


def test_relu_int8_shape_and_version():
    from edgeport.export.tflite import write_tflite
    from edgeport.ops import get_op

    graph = quant_graph("RELU", [QInput((2, 3, 4, 5), np.int8, qp(F32(0.03), -7))], {},
                        [(np.int8, qp(F32(0.02), -128))])
    assert get_op("RELU").version(graph.ops[0], graph) == 2
    assert write_tflite(graph)
    assert_bit_exact(graph)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("alpha", [0.01, 0.2, 1.0, 1.7, -0.3])
@pytest.mark.parametrize("scales", SCALES)
def test_leaky_relu_every_value(dtype, alpha, scales):
    check_every_value(every_value_graph("LEAKY_RELU", dtype, scales, {"alpha": alpha}), dtype)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("scales", [
    (0.05, 0, 0.05, 0),
    (0.03, -20, 0.02, -100),       # relu-ish exponent > 0
    (0.005, 10, 0.004, -60),       # relu-ish exponent < 0
    (0.1, 127, 0.08, -128),
    (2e-4, -128, 1e-4, -128),      # tiny scales
    (0.05, 5, 30.0, 0),            # output multiplier < 2**-16: gemmlowp's int16 mask quirk
    (0.05, 0, 0.0004, 0),          # output saturates
])
def test_hard_swish_every_value(dtype, scales):
    check_every_value(every_value_graph("HARD_SWISH", dtype, scales), dtype)


def test_hard_swish_random_scales():
    for s_in, z_in, s_out, z_out in random_scales(2, 8):
        # TFLite requires s_in / (128 s_out) <= 1
        scales = (s_in, z_in, max(s_out, F32(s_in / 100)), z_out)
        check_every_value(every_value_graph("HARD_SWISH", np.int8, scales), np.int8)


def prelu_graph(dtype, x_shape, alpha, scales, alpha_quant):
    s_in, z_in, s_out, z_out = scales
    return quant_graph("PRELU", [QInput(x_shape, dtype, qp(F32(s_in), z_in)),
                                 QConst(alpha, alpha_quant)], {},
                       [(dtype, qp(F32(s_out), z_out))])


@pytest.mark.parametrize("alpha_shape", [(5,), (1, 1, 5), (3, 4, 5), (1,), (4, 1)])
@pytest.mark.parametrize("scales", [(0.05, -3, 0.04, 7), (0.1, 60, 0.02, -100),
                                    (1e-3, -128, 2e-3, 127)])
def test_prelu_int8_per_channel_alpha(alpha_shape, scales):
    rng = np.random.default_rng(len(alpha_shape))
    alpha = rng.integers(-128, 128, alpha_shape).astype(np.int8)
    graph = prelu_graph(np.int8, (2, 3, 4, 5), alpha, scales, qp(F32(0.004), -20))
    assert_bit_exact(graph)


def test_prelu_int8_every_value_negative_alpha():
    alpha = np.array([-128, -1, 0, 50, 127], np.int8)
    x = np.repeat(EVERY[np.int8].reshape(256, 1), 5, axis=1).reshape(1, 256, 5)
    graph = prelu_graph(np.int8, (1, 256, 5), alpha, (0.05, 10, 0.03, -5), qp(F32(0.02), 30))
    assert_bit_exact(graph, [x])


def test_prelu_uint8():
    alpha = np.array([100, 128, 200], np.uint8)
    graph = prelu_graph(np.uint8, (2, 6, 3), alpha, (0.05, 120, 0.04, 130), qp(F32(0.01), 128))
    assert_bit_exact(graph)
