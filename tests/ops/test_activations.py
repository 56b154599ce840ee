import math

import numpy as np
import pytest

from edgeport.errors import GraphError
from edgeport.ops import get_op
from edgeport.ops.unary import erfc
from tests.opmodels import Input, assert_matches_litert, op_graph

UNARY_OPS = ["RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "HARD_SWISH", "EXP",
             "SQRT", "RSQRT", "SIN"]

# Large magnitudes, the LOGISTIC cutoffs (16.619047, -9), EXP's overflow (~88.72), signed
# zeros, infinities and NaN, over a fine grid of ordinary values.
EDGE_VALUES = np.concatenate([
    np.linspace(-100, 100, 4001),
    [16.619047, 16.619049, -8.999999, -9.000001, 88.7, 88.73, 89, -87.3, -103, -104],
    [1e30, -1e30, 3.4e38, -3.4e38, 1e-30, -1e-30, 0.0, -0.0, np.inf, -np.inf, np.nan],
]).astype(np.float32)


def unary(op_type, x, attrs=None, reference=True, rtol=1e-5, atol=1e-5):
    graph = op_graph(op_type, [Input(x.shape)], attrs)
    return assert_matches_litert(graph, [x], reference=reference, rtol=rtol, atol=atol)


@pytest.mark.parametrize("op_type", UNARY_OPS)
@pytest.mark.parametrize("shape", [(7,), (2, 4, 5, 3)])
def test_unary_matches_litert(op_type, shape):
    x = np.random.default_rng(1).uniform(-8, 8, shape).astype(np.float32)
    unary(op_type, x)


@pytest.mark.parametrize("op_type", UNARY_OPS)
def test_unary_edge_values_match_litert(op_type):
    # Relative only (atol 0): LOGISTIC's exp(x) tail below -9, EXP's tiny and huge values.
    unary(op_type, EDGE_VALUES, atol=0)


@pytest.mark.parametrize("values", [np.random.default_rng(2).uniform(-8, 8, (2, 3, 4)),
                                    EDGE_VALUES])
def test_elu_matches_litert(values):
    # ELU is not in LiteRT's BUILTIN_REF resolver: compare with its default kernels.
    unary("ELU", values.astype(np.float32), reference=False)


@pytest.mark.parametrize("alpha", [0.2, 0.01, 1.5, -0.3, 0.0])
def test_leaky_relu_matches_litert(alpha):
    x = np.concatenate([EDGE_VALUES, np.linspace(-1, 1, 101, dtype=np.float32)])
    got = unary("LEAKY_RELU", x, {"alpha": alpha})
    assert got[0].dtype == np.float32


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_matches_litert(approximate):
    # The exact form agrees with LiteRT in relative terms down to the tail (~1e-32 at -12;
    # atol only covers denormal results). LiteRT's tanh saturates to +-1 sooner (1 + tanh
    # rounds to 0 below x ~ -4.9 where the true value is ~ -6e-7), so the approximate form
    # agrees to 1e-6 absolute.
    x = np.concatenate([np.linspace(-12, 12, 24001, dtype=np.float32), EDGE_VALUES])
    unary("GELU", x, {"approximate": approximate}, atol=1e-5 if approximate else 1e-37)


def test_erfc_is_accurate():
    x = np.linspace(-6, 9, 30001)
    want = np.array([math.erfc(v) for v in x])
    got = erfc(x.astype(np.float64))
    np.testing.assert_allclose(got, want, rtol=1.3e-7, atol=0)
    assert erfc(np.float32([0.5, -2.0])).dtype == np.float32


# Alphas with one value per channel (or one in all): numba's loop runs them (kernel_form).
PER_CHANNEL_ALPHAS = [((2, 4, 5, 3), (1, 1, 3)),    # Keras PReLU(shared_axes=[1, 2])
                      ((2, 4, 5, 3), (3,)),
                      ((4, 6), (6,)),
                      ((2, 3, 2), (1, 1, 1))]
# The other broadcasts run in NumPy in both forms.
BROADCAST_ALPHAS = [((2, 4, 5, 3), (4, 5, 3)),      # one alpha per element
                    ((2, 4, 5, 3), (1, 5, 1)),
                    ((3, 6), (3, 6))]
ALPHA_RANGES = [(-1, 1.5), (0.05, 0.9), (1.1, 3)]  # mixed, < 1, > 1


def assert_prelu_matches_litert(x_shape, alpha_shape, alpha_is_constant, alpha_range):
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, x_shape).astype(np.float32)
    alpha = rng.uniform(*alpha_range, alpha_shape).astype(np.float32)
    if alpha_is_constant:
        assert_matches_litert(op_graph("PRELU", [Input(x_shape), alpha]), [x])
    else:
        assert_matches_litert(op_graph("PRELU", [Input(x_shape), Input(alpha_shape)]), [x, alpha])


@pytest.mark.parametrize("x_shape,alpha_shape", PER_CHANNEL_ALPHAS)
@pytest.mark.parametrize("alpha_is_constant", [True, False])
@pytest.mark.parametrize("alpha_range", ALPHA_RANGES)
def test_prelu_matches_litert(x_shape, alpha_shape, alpha_is_constant, alpha_range,
                              kernel_form):
    assert_prelu_matches_litert(x_shape, alpha_shape, alpha_is_constant, alpha_range)


@pytest.mark.parametrize("x_shape,alpha_shape", BROADCAST_ALPHAS)
@pytest.mark.parametrize("alpha_is_constant", [True, False])
@pytest.mark.parametrize("alpha_range", ALPHA_RANGES)
def test_prelu_broadcast_alpha_matches_litert(x_shape, alpha_shape, alpha_is_constant,
                                              alpha_range):
    assert_prelu_matches_litert(x_shape, alpha_shape, alpha_is_constant, alpha_range)


@pytest.mark.parametrize("alpha", [[0.25, 0.5, 0.0], [0.25, 0.5, 0.75], [1.5, 2.0, 3.0],
                                   [-0.5, 2.0, 0.5], [0.25, np.inf, -np.inf], [0.5, np.nan, 2]])
def test_prelu_edge_values_match_litert(alpha, kernel_form):
    # Infinities, NaN and -0 in every alpha regime, zero and infinite alphas included (0 * inf
    # is NaN), to the bit: -0 keeps its sign.
    x = np.array([np.inf, -np.inf, np.nan, -0.0, 0.0, -2.0, 3.0, -1e-30], np.float32)
    x = np.repeat(x, 3).reshape(1, 2, 4, 3)
    assert_matches_litert(op_graph("PRELU", [Input(x.shape), np.float32(alpha)]), [x],
                          bits=True)


def test_prelu_refuses_alpha_that_enlarges_the_output():
    # LiteRT refuses it too (activations.cc: HaveSameShapes(input, output)).
    with pytest.raises(GraphError, match="does not broadcast"):
        op_graph("PRELU", [Input((1, 4, 3)), np.ones((2, 1, 3), np.float32)])


@pytest.mark.parametrize("op_type", UNARY_OPS + ["ELU", "LEAKY_RELU", "GELU"])
def test_float_version_is_1(op_type):
    attrs = {"LEAKY_RELU": {"alpha": 0.2}, "GELU": {"approximate": False}}.get(op_type)
    graph = op_graph(op_type, [Input((2, 3))], attrs)
    assert get_op(op_type).version(graph.ops[0], graph) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_zeros_like_matches_litert(dtype):
    [y] = assert_matches_litert(op_graph("ZEROS_LIKE", [Input((2, 5), dtype)]))
    assert y.dtype == dtype and not y.any()
