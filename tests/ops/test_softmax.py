import numpy as np
import pytest

from edgeport.export.tflite import write_tflite
from edgeport.ops import get_op
from edgeport.ops.activations import apply_activation
from tests.opmodels import Input, assert_matches_litert, op_graph
from tests.oracles.litert import run_edgeport

SHAPES = [(10,), (3, 7), (2, 3, 4), (2, 3, 4, 5), (1, 2, 3, 2, 5)]


def run(op_type, x, attrs=None):
    return assert_matches_litert(op_graph(op_type, [Input(x.shape)], attrs), [x])


def random(shape, scale=3.0, seed=0):
    return (np.random.default_rng(seed).uniform(-1, 1, shape) * scale).astype(np.float32)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.7, 0.0, -1.3])
def test_softmax_matches_litert(shape, beta):
    got = run("SOFTMAX", random(shape), {"beta": beta})
    np.testing.assert_allclose(got[0].sum(axis=-1), 1, rtol=1e-5)


@pytest.mark.parametrize("scale", [100.0, 1e4, 1e30])
@pytest.mark.parametrize("beta", [1.0, 0.3])
def test_softmax_large_magnitudes_match_litert(scale, beta):
    x = random((4, 9), scale)
    x[0, 3] = -np.inf                               # a masked position
    x[1] = 7.0                                      # a constant row
    got = run("SOFTMAX", x, {"beta": beta})
    assert np.isfinite(got[0]).all()


def test_softmax_negative_beta_is_stable():
    # TFLite's kernel computes exp((x - max) * beta), which overflows for a negative beta
    # (LiteRT returns NaN here); edgeport shifts by the min instead and stays exact.
    x = random((3, 8), 200.0)
    graph = op_graph("SOFTMAX", [Input(x.shape)], {"beta": -1.3})
    got = run_edgeport(write_tflite(graph), [x])[0]
    z = -1.3 * x.astype(np.float64)
    want = np.exp(z - z.max(-1, keepdims=True))
    np.testing.assert_allclose(got, want / want.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [3.0, 100.0, 1e4])
def test_log_softmax_matches_litert(shape, scale):
    run("LOG_SOFTMAX", random(shape, scale))


def test_log_softmax_masked_and_constant_rows_match_litert():
    x = random((3, 6), 50.0)
    x[0, 2] = -np.inf
    x[1] = -3.0
    run("LOG_SOFTMAX", x)


@pytest.mark.parametrize("shape", SHAPES)
def test_l2_normalization_matches_litert(shape):
    run("L2_NORMALIZATION", random(shape), {"fused_activation_function": "NONE"})


def test_l2_normalization_edge_rows_match_litert():
    x = random((5, 6))
    x[0] = 0.0                                      # divides by epsilon, stays zero
    x[1] *= 1e-8                                    # norm below epsilon
    x[2] *= 1e18                                    # squares near float32's top
    x[3] *= 1e20                                    # squares overflow: x / inf = 0
    run("L2_NORMALIZATION", x)


def test_l2_normalization_fused_activation_is_applied():
    # LiteRT refuses any activation but NONE (l2norm.cc); edgeport applies one generically.
    x = random((2, 5))
    graph = op_graph("L2_NORMALIZATION", [Input(x.shape)], {"fused_activation_function": "RELU"})
    op = get_op("L2_NORMALIZATION")
    got = op.run(graph.ops[0].attrs, [x])[0]
    plain = op.run({"fused_activation_function": "NONE"}, [x])[0]
    np.testing.assert_array_equal(got, apply_activation(plain, "RELU"))
    assert (got >= 0).all() and (plain < 0).any()


@pytest.mark.parametrize("op_type,attrs", [("SOFTMAX", {"beta": 1.0}), ("LOG_SOFTMAX", None),
                                           ("L2_NORMALIZATION", None)])
def test_float_version_is_1(op_type, attrs):
    graph = op_graph(op_type, [Input((2, 3))], attrs)
    assert get_op(op_type).version(graph.ops[0], graph) == 1
