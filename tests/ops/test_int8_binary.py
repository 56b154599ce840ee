"""Integer ADD, SUB, MUL, MAXIMUM, MINIMUM, SQUARED_DIFFERENCE, bit-exact with LiteRT's reference kernels over
random scales and zero points, broadcasting and fused activations."""

import numpy as np
import pytest

from tests.quantmodels import QConst, QInput, assert_bit_exact, qp, quant_graph

F32 = np.float32
EVERY_INT8 = np.arange(-128, 128).astype(np.int8)
SHAPES = [((2, 4, 5, 3), (2, 4, 5, 3)), ((2, 4, 5, 3), (1, 1, 1, 3)), ((3, 1, 6), (4, 1)),
          ((5,), ())]


def binary_case(op_type, seed, shapes, activation="NONE", dtype=np.int8, scales=None):
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    s1, s2, s_out = scales or rng.uniform(0.003, 0.3, 3).astype(np.float32)
    quants = [qp(np.float32(s), int(rng.integers(info.min, info.max + 1)))
              for s in (s1, s2, s_out)]
    attrs = {"fused_activation_function": activation} if op_type in ("ADD", "SUB", "MUL") else {}
    return quant_graph(op_type, [QInput(shapes[0], dtype, quants[0]),
                                 QInput(shapes[1], dtype, quants[1])], attrs,
                       [(dtype, quants[2])])


@pytest.mark.parametrize("op_type", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("activation", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
def test_arithmetic_int8(op_type, shapes, activation):
    for seed in range(3):
        assert_bit_exact(binary_case(op_type, seed, shapes, activation), seed=seed)


@pytest.mark.parametrize("op_type", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("scales", [(0.1, 0.1, 0.1), (0.5, 0.01, 0.02), (0.01, 0.5, 1e-3),
                                    (1e-4, 2e-4, 3e-4), (0.02, 0.03, 5.0)])
def test_arithmetic_int8_scales(op_type, scales):
    scales = tuple(np.float32(s) for s in scales)
    assert_bit_exact(binary_case(op_type, 1, SHAPES[0], scales=scales))


@pytest.mark.parametrize("op_type", ["ADD", "SUB", "MUL"])
def test_arithmetic_int8_extremes(op_type):
    graph = binary_case(op_type, 4, ((2, 256), (2, 256)))
    every = np.arange(-128, 128, dtype=np.int8)
    x = np.stack([every, np.full(256, -128, np.int8)])
    assert_bit_exact(graph, [x, np.stack([every[::-1], every])])


@pytest.mark.parametrize("op_type", ["ADD", "MUL"])
def test_arithmetic_uint8(op_type):
    assert_bit_exact(binary_case(op_type, 2, SHAPES[1], "RELU", dtype=np.uint8))


@pytest.mark.parametrize("op_type", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("shapes", SHAPES[:3])
def test_maximum_minimum_int8(op_type, shapes):
    quant = qp(np.float32(0.05), -3)
    graph = quant_graph(op_type, [QInput(shapes[0], np.int8, quant),
                                  QInput(shapes[1], np.int8, quant)], {}, [(np.int8, quant)])
    assert_bit_exact(graph)


def test_add_int8_constant_operand():
    rng = np.random.default_rng(0)
    c = rng.integers(-128, 128, (1, 3)).astype(np.int8)
    graph = quant_graph("ADD", [QInput((4, 3), np.int8, qp(np.float32(0.02), 5)),
                                QConst(c, qp(np.float32(0.07), -9))],
                        {"fused_activation_function": "NONE"}, [(np.int8, qp(np.float32(0.05), 1))])
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
