"""Integer CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV, bit-exact with
LiteRT's reference kernels over random scales and zero points."""

import numpy as np
import pytest

from edgeport.runtime.kernels import bind_kernels
from tests.quantmodels import QConst, QInput, assert_bit_exact, bias_int32, qp, quant_graph, \
    weights_int8

ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def out_quant(rng, in_scale, w_quant, taps, spread):
    """An output scale that maps typical accumulators to about +-(128 / spread)."""
    typical = float(in_scale) * float(np.mean(w_quant.scale)) * np.sqrt(taps) * 5400
    return qp(np.float32(typical * spread / 128), int(rng.integers(-20, 21)))


def conv_case(op_type, seed, x_shape, w_shape, attrs, per_channel=True, spread=1.0,
              with_bias=True, in_zero=None):
    rng = np.random.default_rng(seed)
    in_scale = np.float32(rng.uniform(0.005, 0.1))
    zero = int(rng.integers(-128, 128)) if in_zero is None else in_zero
    axis = (3 if op_type == "DEPTHWISE_CONV_2D" else 0) if per_channel else None
    w, w_quant = weights_int8(rng, w_shape, axis)
    n_out = w_shape[3] if op_type == "DEPTHWISE_CONV_2D" else w_shape[0]
    taps = int(np.prod(w_shape)) // n_out
    b, b_quant = bias_int32(rng, n_out, in_scale, w_quant)
    inputs = [QInput(x_shape, np.int8, qp(in_scale, zero)), QConst(w, w_quant),
              QConst(b, b_quant) if with_bias else None]
    return quant_graph(op_type, inputs, attrs,
                       [(np.int8, out_quant(rng, in_scale, w_quant, taps, spread))])


CONV_ATTRS = dict(padding="SAME", stride_h=1, stride_w=1, dilation_h_factor=1,
                  dilation_w_factor=1, fused_activation_function="NONE")


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("strides", [(1, 1), (2, 2), (1, 3)])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_conv2d_int8(padding, strides, activation):
    attrs = dict(CONV_ATTRS, padding=padding, stride_h=strides[0], stride_w=strides[1],
                 fused_activation_function=activation)
    graph = conv_case("CONV_2D", hash((padding, strides, activation)) % 1000, (2, 9, 8, 5),
                      (6, 3, 3, 5), attrs)
    assert_bit_exact(graph)


@pytest.mark.parametrize("case", [
    dict(w_shape=(4, 1, 1, 7)),                                # 1x1 (plain matmul path)
    dict(w_shape=(24, 3, 2, 7)),                               # many output channels (im2col)
    dict(w_shape=(4, 3, 3, 7), dilation=2),
    dict(w_shape=(4, 3, 3, 7), per_channel=False),
    dict(w_shape=(4, 3, 3, 7), spread=0.02),                   # multiplier >= 1 / saturation
    dict(w_shape=(4, 3, 3, 7), spread=1e-4),                   # tiny output scale
    dict(w_shape=(4, 3, 3, 7), spread=300),                    # outputs near the zero point
    dict(w_shape=(4, 3, 3, 7), in_zero=-128),
    dict(w_shape=(6, 3, 3, 7), x_channels=14),                 # grouped convolution
])
def test_conv2d_int8_cases(case):
    attrs = dict(CONV_ATTRS, dilation_h_factor=case.get("dilation", 1),
                 dilation_w_factor=case.get("dilation", 1))
    graph = conv_case("CONV_2D", 7, (3, 10, 9, case.get("x_channels", case["w_shape"][3])),
                      case["w_shape"], attrs, per_channel=case.get("per_channel", True),
                      spread=case.get("spread", 1.0), with_bias=case.get("with_bias", True),
                      in_zero=case.get("in_zero"))
    assert_bit_exact(graph)


def test_conv2d_int8_minus_128_inputs():
    graph = conv_case("CONV_2D", 3, (1, 6, 6, 4), (5, 3, 3, 4), CONV_ATTRS, in_zero=5)
    assert_bit_exact(graph, [np.full((1, 6, 6, 4), -128, np.int8)])


DW_ATTRS = dict(CONV_ATTRS, depth_multiplier=1)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("strides", [(1, 1), (2, 2)])
@pytest.mark.parametrize("multiplier", [1, 3])
@pytest.mark.parametrize("activation", ["NONE", "RELU6"])
def test_depthwise_int8(padding, strides, multiplier, activation, kernel_form):
    attrs = dict(DW_ATTRS, padding=padding, stride_h=strides[0], stride_w=strides[1],
                 depth_multiplier=multiplier, fused_activation_function=activation)
    graph = conv_case("DEPTHWISE_CONV_2D", multiplier * 10 + strides[0], (2, 9, 7, 4),
                      (1, 3, 3, 4 * multiplier), attrs)
    assert_bit_exact(graph)


@pytest.mark.parametrize("case", [dict(dilation=2), dict(per_channel=False),
                                  dict(spread=0.01), dict(in_zero=-128)])
def test_depthwise_int8_cases(case, kernel_form):
    attrs = dict(DW_ATTRS, dilation_h_factor=case.get("dilation", 1),
                 dilation_w_factor=case.get("dilation", 1))
    graph = conv_case("DEPTHWISE_CONV_2D", 5, (1, 11, 10, 8), (1, 3, 3, 8), attrs,
                      per_channel=case.get("per_channel", True), spread=case.get("spread", 1),
                      with_bias=case.get("with_bias", True), in_zero=case.get("in_zero"))
    assert_bit_exact(graph)


def fc_case(seed, x_shape, n_out, per_channel, activation="NONE", keep_num_dims=False,
            spread=1.0, with_bias=True):
    rng = np.random.default_rng(seed)
    in_scale = np.float32(rng.uniform(0.005, 0.1))
    n_in = x_shape[-1]
    w, w_quant = weights_int8(rng, (n_out, n_in), 0 if per_channel else None)
    b, b_quant = bias_int32(rng, n_out, in_scale, w_quant)
    inputs = [QInput(x_shape, np.int8, qp(in_scale, int(rng.integers(-128, 128)))),
              QConst(w, w_quant), QConst(b, b_quant) if with_bias else None]
    attrs = dict(fused_activation_function=activation, keep_num_dims=keep_num_dims,
                 weights_format="DEFAULT", asymmetric_quantize_inputs=False)
    return quant_graph("FULLY_CONNECTED", inputs, attrs,
                       [(np.int8, out_quant(rng, in_scale, w_quant, n_in, spread))])


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("x_shape,keep", [((3, 20), False), ((2, 3, 20), True),
                                          ((2, 3, 20), False)])
def test_fully_connected_int8(per_channel, activation, x_shape, keep):
    graph = fc_case(len(x_shape) * 7 + per_channel, x_shape, 9, per_channel, activation, keep)
    assert_bit_exact(graph)


@pytest.mark.parametrize("spread", [1e-3, 0.05, 50])
@pytest.mark.parametrize("with_bias", [True, False])
def test_fully_connected_int8_scales(spread, with_bias):
    for per_channel in (False, True):
        assert_bit_exact(fc_case(11, (4, 33), 5, per_channel, spread=spread,
                                 with_bias=with_bias))


@pytest.mark.parametrize("n_in,sum_dtype", [(33, np.float32), (4096, np.float64)])
def test_fully_connected_int8_sums_in_float32_only_where_exact(n_in, sum_dtype):
    """float32 holds every partial sum of 33 centered 8-bit products exactly, not (in the
    worst case) of 4096, whose sums the kernel keeps in float64."""
    graph = fc_case(5, (4, n_in), 6, per_channel=True, spread=0.05)
    assert bind_kernels(graph)[id(graph.ops[0])].sum_dtype == sum_dtype
    assert_bit_exact(graph)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("strides", [(1, 1), (2, 2)])
def test_transpose_conv_int8(padding, strides):
    rng = np.random.default_rng(strides[0])
    in_scale = np.float32(0.03)
    w, w_quant = weights_int8(rng, (5, 3, 3, 4), 0)
    b, b_quant = bias_int32(rng, 5, in_scale, w_quant)
    out_h = 6 * strides[0] + (2 if padding == "VALID" else 0)
    shape = np.array([2, out_h, out_h, 5], np.int32)
    inputs = [QConst(shape), QConst(w, w_quant), QInput((2, 6, 6, 4), np.int8, qp(in_scale, 3)),
              QConst(b, b_quant)]
    attrs = dict(padding=padding, stride_h=strides[0], stride_w=strides[1],
                 fused_activation_function="NONE")
    graph = quant_graph("TRANSPOSE_CONV", inputs, attrs,
                        [(np.int8, out_quant(rng, in_scale, w_quant, 9 * 4, 1.0))])
    assert_bit_exact(graph)
