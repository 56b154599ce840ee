import numpy as np
import pytest

from edgeport.graph import Graph, Op, Tensor
from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph

# LiteRT's float conv kernels clamp to RELU ranges only and silently ignore a fused TANH
# (CalculateActivationRange), so TANH is not compared here.
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
TOL = dict(rtol=1e-5, atol=1e-5)
# XNNPACK sums in its own blocked order (and may use FMA): a few ulps of the sum's magnitude.
XNNPACK_TOL = dict(rtol=1e-4, atol=1e-4)


def weights(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def conv_attrs(padding="SAME", stride=(1, 1), dilation=(1, 1), activation="NONE", **extra):
    return {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
            "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
            "fused_activation_function": activation, **extra}


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (2, 1)])
@pytest.mark.parametrize("dilation", [(1, 1), (2, 1), (2, 2)])
@pytest.mark.parametrize("x_shape,kernel,n_out", [((1, 9, 9, 3), (3, 3), 8),
                                                  ((3, 8, 11, 5), (2, 3), 4),
                                                  ((1, 6, 7, 4), (1, 1), 6)])
def test_conv2d_matches_litert(x_shape, kernel, n_out, padding, stride, dilation):
    w = weights((n_out, *kernel, x_shape[3]))
    graph = op_graph("CONV_2D", [Input(x_shape), w, weights(n_out, 2)],
                     conv_attrs(padding, stride, dilation))
    assert_matches_litert(graph, **TOL)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_conv2d_fused_activation(activation):
    graph = op_graph("CONV_2D", [Input((2, 7, 6, 3)), weights((5, 3, 3, 3)), weights(5, 2)],
                     conv_attrs("SAME", (2, 2), activation=activation))
    assert_matches_litert(graph, **TOL)


@pytest.mark.parametrize("groups", [2, 3])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_grouped_conv2d_matches_litert(groups, padding):
    graph = op_graph("CONV_2D", [Input((2, 8, 7, 2 * groups)), weights((3 * groups, 3, 3, 2)),
                                 weights(3 * groups, 2)], conv_attrs(padding, (2, 1)))
    assert_matches_litert(graph, **TOL)
    assert get_op("CONV_2D").version(graph.ops[0], graph) == 6


def test_conv2d_without_bias_equals_zero_bias():
    # LiteRT insists on a bias for CONV_2D; other frontends may leave it out.
    x, w = weights((1, 5, 5, 3), 3), weights((4, 3, 3, 3))
    attrs = conv_attrs("SAME")
    conv = get_op("CONV_2D")
    np.testing.assert_array_equal(conv.run_float(attrs, x, w),
                                  conv.run_float(attrs, x, w, np.zeros(4, np.float32)))


def test_conv2d_agrees_with_xnnpack():
    graph = op_graph("CONV_2D", [Input((3, 12, 12, 8)), weights((16, 3, 3, 8)), weights(16, 2)],
                     conv_attrs("SAME", (2, 2), activation="RELU6"))
    assert_matches_litert(graph, **XNNPACK_TOL, reference=False)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (1, 2), (2, 1)])
@pytest.mark.parametrize("dilation", [(1, 1), (2, 2), (1, 3)])
@pytest.mark.parametrize("multiplier", [1, 2])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("channels", [4, 40])  # column strides: every column, or strided
def test_depthwise_conv2d_matches_litert(padding, stride, dilation, multiplier, batch, channels,
                                         kernel_form):
    graph = op_graph("DEPTHWISE_CONV_2D",
                     [Input((batch, 10, 9, channels)), weights((1, 3, 3, channels * multiplier)),
                      weights(channels * multiplier, 2)],
                     conv_attrs(padding, stride, dilation, depth_multiplier=multiplier))
    # The compiled loop adds the taps in the reference kernel's order: the same bits.
    if kernel_form == "compiled":
        assert_matches_litert(graph, bits=True)
    else:
        assert_matches_litert(graph, **TOL)


def test_depthwise_conv2d_with_no_output_columns():
    attrs = conv_attrs("VALID", (2, 2), depth_multiplier=1)
    x, w = np.ones((1, 5, 2, 4), np.float32), np.ones((1, 3, 3, 4), np.float32)
    assert get_op("DEPTHWISE_CONV_2D").run_float(attrs, x, w).shape == (1, 2, 0, 4)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_depthwise_conv2d_fused_activation_no_bias(activation, kernel_form):
    # Without a bias the op has two inputs (LiteRT rejects an absent third one).
    graph = op_graph("DEPTHWISE_CONV_2D", [Input((1, 7, 7, 3)), weights((1, 5, 5, 3))],
                     conv_attrs("SAME", (2, 2), activation=activation, depth_multiplier=1))
    assert_matches_litert(graph, **TOL)


def test_depthwise_conv2d_agrees_with_xnnpack(kernel_form):
    graph = op_graph("DEPTHWISE_CONV_2D", [Input((2, 14, 14, 16)), weights((1, 3, 3, 16)),
                                           weights(16, 2)],
                     conv_attrs("SAME", (1, 1), activation="RELU6", depth_multiplier=1))
    assert_matches_litert(graph, **XNNPACK_TOL, reference=False)


def transpose_conv_case(padding, stride, in_hw, kernel, out_hw, batch=1, bias=True,
                        activation="NONE"):
    n_in, n_out = 3, 4
    inputs = [np.array([batch, *out_hw, n_out], np.int32), weights((n_out, *kernel, n_in)),
              Input((batch, *in_hw, n_in))]
    if bias:
        inputs.append(weights(n_out, 2))
    return op_graph("TRANSPOSE_CONV", inputs,
                    {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
                     "fused_activation_function": activation})


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", [
    ("SAME", (2, 2), (5, 4), (3, 3), (10, 8)),
    ("SAME", (2, 2), (5, 4), (3, 3), (9, 7)),
    ("SAME", (1, 1), (5, 6), (3, 2), (5, 6)),
    ("SAME", (2, 3), (4, 3), (4, 5), (8, 9)),
    ("VALID", (2, 2), (5, 4), (3, 3), (11, 9)),
    ("VALID", (2, 2), (5, 4), (3, 3), (12, 10)),
    ("VALID", (1, 2), (4, 4), (2, 3), (5, 9)),
])
def test_transpose_conv_matches_litert(case, bias):
    graph = transpose_conv_case(*case, batch=2, bias=bias)
    assert_matches_litert(graph, **TOL)
    assert get_op("TRANSPOSE_CONV").version(graph.ops[0], graph) == (3 if bias else 1)


@pytest.mark.parametrize("activation", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_transpose_conv_fused_activation(activation):
    graph = transpose_conv_case("SAME", (2, 2), (4, 4), (3, 3), (8, 8), activation=activation)
    assert_matches_litert(graph, **TOL)
    assert get_op("TRANSPOSE_CONV").version(graph.ops[0], graph) == 4


def test_transpose_conv_agrees_with_xnnpack():
    graph = transpose_conv_case("SAME", (2, 2), (6, 6), (3, 3), (12, 12), batch=2)
    assert_matches_litert(graph, **XNNPACK_TOL, reference=False)


def versioned(op_type, attrs, dtypes=(np.float32, np.float32, np.float32), x_channels=3):
    """The version of one op over tensors of the given (input, filter, output) dtypes."""
    graph = Graph()
    graph.add_tensor(Tensor("x", (1, 8, 8, x_channels), dtypes[0]))
    graph.add_tensor(Tensor("w", (6, 3, 3, 3) if op_type == "CONV_2D" else (1, 3, 3, 6),
                            dtypes[1]))
    graph.add_tensor(Tensor("y", (1, 8, 8, 6), dtypes[2]))
    op = graph.add_op(Op(op_type, ["x", "w"], ["y"], attrs))
    return get_op(op_type).version(op, graph)


def test_versions():
    int8 = (np.int8, np.int8, np.int8)
    hybrid = (np.float32, np.int8, np.float32)
    assert versioned("CONV_2D", conv_attrs()) == 1
    assert versioned("CONV_2D", conv_attrs(), x_channels=6) == 6
    assert versioned("CONV_2D", conv_attrs(), int8) == 3
    assert versioned("CONV_2D", conv_attrs(), hybrid) == 2
    assert versioned("DEPTHWISE_CONV_2D", conv_attrs()) == 1
    assert versioned("DEPTHWISE_CONV_2D", conv_attrs(dilation=(2, 1))) == 2
    assert versioned("DEPTHWISE_CONV_2D", conv_attrs(dilation=(2, 1)), int8) == 3
    assert versioned("DEPTHWISE_CONV_2D", conv_attrs(), hybrid) == 4
