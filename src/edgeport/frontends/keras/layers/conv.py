"""Convolutions: Conv1D/2D (groups, dilation), DepthwiseConv2D, SeparableConv2D,
Conv2DTranspose. Keras kernels are HWIO; CONV_2D wants OHWI, DEPTHWISE_CONV_2D 1HW(C*M)."""

from __future__ import annotations

import numpy as np

from ....ops.windows import conv_geometry
from . import keras_layer
from .activations import apply_activation


def padding(b, cfg) -> str:
    mode = cfg.text("padding", "valid").upper()
    if mode not in ("SAME", "VALID"):
        raise b.unsupported(f"padding={cfg.get('padding')!r} (only 'same' and 'valid')")
    return mode


def check_window(b, x, attrs, kernel_hw, dilation=(1, 1)) -> None:
    """Refuse a window op whose output, or whose input padded as SAME pads it (the kernels
    pad in memory), could not exist: what a damaged kernel size, stride or dilation makes."""
    n, h, w, c = b.shape(x, rank=4)
    out_hw, ((top, bottom), (left, right)) = conv_geometry(attrs, (h, w), kernel_hw, dilation)
    b.check_size((n, *out_hw, c), "its output")
    b.check_size((n, h + top + bottom, w + left + right, c), "its padded input")


def window_attrs(b, cfg, x, kernel_hw, strides, dilation=(1, 1)) -> dict:
    """CONV_2D / DEPTHWISE_CONV_2D options for ``x``, checked by `check_window`."""
    attrs = {"padding": padding(b, cfg), "stride_h": strides[0], "stride_w": strides[1],
             "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1]}
    check_window(b, x, attrs, kernel_hw, dilation)
    return attrs


def conv2d_op(b, x, kernel_hwio, bias, attrs) -> str:
    """CONV_2D of ``x`` with a Keras HWIO kernel (transposed to OHWI) and a bias."""
    weights = b.const(np.transpose(kernel_hwio, (3, 0, 1, 2)), suffix="kernel")
    return b.op("CONV_2D", [x, weights, b.const(bias, suffix="bias")], attrs)


def kernel_and_bias(b, cfg, kernel_shape, out_channels):
    use_bias = cfg.bool("use_bias", True)
    weights = b.weights(kernel_shape, *([(out_channels,)] if use_bias else []))
    bias = weights[1] if use_bias else np.zeros(out_channels, np.float32)
    return weights[0], bias


def filters_and_groups(b, cfg, channels: int) -> tuple[int, int]:
    """``filters`` and ``groups``, the groups splitting both the input channels and filters."""
    filters, groups = cfg.int("filters", minimum=1), cfg.int("groups", 1, minimum=1)
    if channels % groups or filters % groups:
        raise cfg.error("groups", f"a divisor of the {channels} input channels and the "
                                  f"{filters} filters")
    return filters, groups


@keras_layer("Conv2D")
def conv2d(b, cfg, inputs):
    x = inputs[0]
    kernel_hw = cfg.ints("kernel_size", 2)
    strides, dilation = cfg.ints("strides", 2, 1), cfg.ints("dilation_rate", 2, 1)
    filters, groups = filters_and_groups(b, cfg, b.shape(x, rank=4)[-1])
    kernel, bias = kernel_and_bias(b, cfg, (*kernel_hw, b.shape(x)[-1] // groups, filters),
                                   filters)
    out = conv2d_op(b, x, kernel, bias, window_attrs(b, cfg, x, kernel_hw, strides, dilation))
    return apply_activation(b, out, cfg.get("activation"))


@keras_layer("Conv1D")
def conv1d(b, cfg, inputs):
    """A Conv2D over [N, 1, L, C], between EXPAND_DIMS and SQUEEZE (TensorFlow's own
    Conv1D; no length built in, so an open length stays open)."""
    x = inputs[0]
    if cfg.text("padding", "valid").lower() == "causal":
        raise b.unsupported("padding='causal'")
    channels = b.shape(x, rank=3)[-1]
    (k,), (stride,) = cfg.ints("kernel_size", 1), cfg.ints("strides", 1, 1)
    (dilation,) = cfg.ints("dilation_rate", 1, 1)
    filters, groups = filters_and_groups(b, cfg, channels)
    kernel, bias = kernel_and_bias(b, cfg, (k, channels // groups, filters), filters)
    image = b.as_image(x)
    attrs = window_attrs(b, cfg, image, (1, k), (1, stride), (1, dilation))
    out = conv2d_op(b, image, kernel[None], bias, attrs)
    out = b.from_image(out)
    return apply_activation(b, out, cfg.get("activation"))


def depthwise_op(b, x, kernel_hwcm, bias, attrs) -> str:
    """DEPTHWISE_CONV_2D with a Keras (H, W, C, M) kernel as (1, H, W, C*M)."""
    kh, kw, channels, multiplier = kernel_hwcm.shape
    weights = b.const(kernel_hwcm.reshape(1, kh, kw, channels * multiplier), suffix="kernel")
    return b.op("DEPTHWISE_CONV_2D", [x, weights, b.const(bias, suffix="bias")],
                {**attrs, "depth_multiplier": multiplier})


def depthwise_config(b, cfg, x) -> tuple:
    """What DepthwiseConv2D and SeparableConv2D read alike: (kernel_hw, input channels,
    depth multiplier, the depthwise op's window attrs)."""
    kernel_hw = cfg.ints("kernel_size", 2)
    channels = b.shape(x, rank=4)[-1]
    multiplier = cfg.int("depth_multiplier", 1, minimum=1)
    strides, dilation = cfg.ints("strides", 2, 1), cfg.ints("dilation_rate", 2, 1)
    return (kernel_hw, channels, multiplier,
            window_attrs(b, cfg, x, kernel_hw, strides, dilation))


@keras_layer("DepthwiseConv2D")
def depthwise_conv2d(b, cfg, inputs):
    x = inputs[0]
    kernel_hw, channels, multiplier, attrs = depthwise_config(b, cfg, x)
    kernel, bias = kernel_and_bias(b, cfg, (*kernel_hw, channels, multiplier),
                                   channels * multiplier)
    out = depthwise_op(b, x, kernel, bias, attrs)
    return apply_activation(b, out, cfg.get("activation"))


@keras_layer("SeparableConv2D")
def separable_conv2d(b, cfg, inputs):
    """DEPTHWISE_CONV_2D (no bias) then a 1x1 CONV_2D carrying the bias."""
    x = inputs[0]
    kernel_hw, channels, multiplier, attrs = depthwise_config(b, cfg, x)
    filters = cfg.int("filters", minimum=1)
    use_bias = cfg.bool("use_bias", True)
    weights = b.weights((*kernel_hw, channels, multiplier),
                        (1, 1, channels * multiplier, filters),
                        *([(filters,)] if use_bias else []))
    bias = weights[2] if use_bias else np.zeros(filters, np.float32)
    depthwise = depthwise_op(b, x, weights[0], np.zeros(channels * multiplier, np.float32),
                             attrs)
    pointwise = {"padding": "VALID", "stride_h": 1, "stride_w": 1, "dilation_h_factor": 1,
                 "dilation_w_factor": 1}
    out = conv2d_op(b, depthwise, weights[1], bias, pointwise)
    return apply_activation(b, out, cfg.get("activation"))


@keras_layer("Conv2DTranspose")
def conv2d_transpose(b, cfg, inputs):
    """TRANSPOSE_CONV; Keras stores the kernel (H, W, out, in), TFLite wants (out, H, W, in).
    The output size is Keras's: in * stride (same) or in * stride + max(k - stride, 0)
    (valid). With a dynamic batch the output_shape input is computed in the graph from the
    input's SHAPE (the interpreter folds it once the input shape is known)."""
    x = inputs[0]
    kh, kw = cfg.ints("kernel_size", 2)
    filters = cfg.int("filters", minimum=1)
    strides = cfg.ints("strides", 2, 1)
    if cfg.ints("dilation_rate", 2, 1) != (1, 1) or cfg.has("output_padding"):
        raise b.unsupported("dilation_rate or output_padding")
    mode = padding(b, cfg)
    n, h, w, channels = b.shape(x, rank=4)
    kernel, bias = kernel_and_bias(b, cfg, (kh, kw, filters, channels), filters)
    size = [d * s + (max(k - s, 0) if mode == "VALID" else 0)
            for d, s, k in ((h, strides[0], kh), (w, strides[1], kw))]
    b.check_size((n, *size, filters), "its output")
    if x not in b.dynamic:
        out_shape = b.const([n, *size, filters], np.int32, "output_shape")
    else:  # the batch size is known at run time only: SHAPE(x)[:1] ++ [H, W, O]
        batch = b.op("STRIDED_SLICE", [b.op("SHAPE", [x], {"out_type": "INT32"}),
                                       *(b.const([v], np.int32, k) for k, v in
                                         (("begin", 0), ("end", 1), ("strides", 1)))])
        out_shape = b.op("CONCATENATION", [batch, b.const([*size, filters], np.int32,
                                                          "output_hwc")], {"axis": 0})
    out = b.op("TRANSPOSE_CONV", [out_shape, b.const(np.transpose(kernel, (2, 0, 1, 3)),
                                                     suffix="kernel"), x,
                                  b.const(bias, suffix="bias")],
               {"padding": mode, "stride_h": strides[0], "stride_w": strides[1]})
    return apply_activation(b, out, cfg.get("activation"))
