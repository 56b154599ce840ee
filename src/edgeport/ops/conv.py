"""Convolutions over NHWC activations: CONV_2D (filter OHWI, grouped when the input has a
multiple of the filter's input channels), DEPTHWISE_CONV_2D (filter 1HWO) and TRANSPOSE_CONV.

`conv_geometry` (output size and padding exactly as TFLite computes them) and `pad_nhwc` are
shared with the pools (pool.py); `windows` is a zero-copy sliding-window view of the input.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..arrays import array_namespace
from ..graph import Graph, Op
from . import compiled
from .common import add_per_channel, conv_output_size, same_padding
from .options import Activation, Int, Options, Padding, TensorTypeName
from .pad import pad_constant
from .quantized import weighted_sum_kernel
from .registry import OpDef, register_op


# -- helpers shared by the convolutions and the pools --------------------------------------
def conv_geometry(attrs: dict, in_hw, kernel_hw, dilation_hw=(1, 1)):
    """((out_h, out_w), ((top, bottom), (left, right))) of a windowed op over ``in_hw``.

    TFLite (ComputePaddingHeightWidth): SAME gives ceil(in / stride) outputs with the odd
    padding pixel after; VALID pads nothing.
    """
    strides = strides_of(attrs)
    out_hw = tuple(conv_output_size(n, k, s, d, attrs["padding"])
                   for n, k, s, d in zip(in_hw, kernel_hw, strides, dilation_hw))
    if attrs["padding"] == "SAME":
        pads = tuple(same_padding(n, k, s, d)
                     for n, k, s, d in zip(in_hw, kernel_hw, strides, dilation_hw))
    else:
        pads = ((0, 0), (0, 0))
    return out_hw, pads


def pad_nhwc(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """``x`` with its H and W dims padded by ``pads`` (no copy when there is nothing to pad)."""
    if not any(before or after for before, after in pads):
        return x
    return pad_constant(x, ((0, 0), *pads, (0, 0)), value)


def windows(xp: np.ndarray, out_hw, kernel_hw, strides, dilations=(1, 1)) -> np.ndarray:
    """Read-only view [N, OH, OW, KH, KW, C] of the (already padded) input: element
    [n, y, x, i, j, c] is xp[n, y*stride_h + i*dilation_h, x*stride_w + j*dilation_w, c]."""
    sn, sh, sw, sc = xp.strides
    return as_strided(xp, (xp.shape[0], *out_hw, *kernel_hw, xp.shape[3]),
                      (sn, sh * strides[0], sw * strides[1], sh * dilations[0],
                       sw * dilations[1], sc), writeable=False)


def tap_slice(tap: int, dilation: int, stride: int, n_out: int) -> slice:
    """The padded input rows (or columns) that filter tap ``tap`` reads for ``n_out`` outputs:
    windows()'s axis as one slice, for kernels that take a tap at a time (jax, the pools)."""
    start = tap * dilation
    return slice(start, start + (n_out - 1) * stride + 1, stride)


def dtype_of(graph: Graph, name: str | None):
    """The dtype of tensor ``name`` in ``graph`` (None for an absent optional input)."""
    return None if name is None else graph.tensors[name].dtype


def is_hybrid(op: Op, graph: Graph) -> bool:
    """Float activations with int8 weights (TFLite's "hybrid" kernels, versioned apart)."""
    return (dtype_of(graph, op.inputs[0]) == np.float32
            and dtype_of(graph, op.inputs[1]) == np.int8)


def all_of(op: Op, graph: Graph, dtype) -> bool:
    """Input, weights and output all of ``dtype`` (np.int8: the full-integer kernels)."""
    return all(dtype_of(graph, name) == dtype
               for name in (op.inputs[0], op.inputs[1], op.outputs[0]))


def per_channel(graph: Graph, name: str) -> bool:
    """Whether tensor ``name`` is quantized per axis (per output channel for weights)."""
    quant = graph.tensors[name].quant
    return quant is not None and quant.per_axis


def strides_of(attrs) -> tuple[int, int]:
    return attrs["stride_h"], attrs["stride_w"]


def _dilations(attrs) -> tuple[int, int]:
    return attrs.get("dilation_h_factor", 1), attrs.get("dilation_w_factor", 1)


# The jax CONV_2D gathers patches of at most this many values and multiplies them by the filter
# (a 3x3 filter over RGB: 2x faster than XLA:CPU's convolution; bench/bench_backends.py).
IM2COL_MAX_PATCH = 32


def conv_jax(attrs, x, w, b, groups: int):
    """The jax kernel of CONV_2D over NHWC input and OHWI filter, with TFLite's padding
    (`conv_geometry`) and dilations, in float32 ("highest" precision: no TF32 on GPUs).

    XLA:CPU's convolution is slow on tiny contractions, so two cases become one matmul of
    the pixels by the filter: a 1x1 filter (3-10x faster on MobileNet's projections; it never
    pads), and a filter with small patches (IM2COL_MAX_PATCH), whose patches are gathered
    first (im2col). Other filters are one XLA convolution.
    """
    import jax.numpy as jnp
    from jax import lax

    n_out, kh, kw, n_in = w.shape
    dilations, (stride_h, stride_w) = _dilations(attrs), strides_of(attrs)
    out_hw, pads = conv_geometry(attrs, x.shape[1:3], (kh, kw), dilations)
    if groups == 1 and (kh * kw == 1 or kh * kw * n_in <= IM2COL_MAX_PATCH):
        xp = jnp.pad(x, ((0, 0), *pads, (0, 0)))
        taps = [xp[:, tap_slice(i, dilations[0], stride_h, out_hw[0]),
                   tap_slice(j, dilations[1], stride_w, out_hw[1])]
                for i in range(kh) for j in range(kw)]
        patches = taps[0] if len(taps) == 1 else jnp.concatenate(taps, axis=3)
        out = lax.dot_general(patches, w.reshape(n_out, -1), (((3,), (1,)), ((), ())),
                              precision="highest")
    else:
        out = lax.conv_general_dilated(x, w, (stride_h, stride_w), pads,
                                       rhs_dilation=dilations,
                                       dimension_numbers=("NHWC", "OHWI", "NHWC"),
                                       feature_group_count=groups, precision="highest")
    return out if b is None else out + b


def add_at(array, index, values):
    """``array[index] += values``: in place for a NumPy array, a new array for a jax one."""
    if isinstance(array, np.ndarray):
        array[index] += values
        return array
    return array.at[index].add(values)


# -- ops -------------------------------------------------------------------------------------
@register_op("CONV_2D")
class Conv2D(OpDef):
    """2-D convolution; input [N, H, W, C], filter [O, KH, KW, I] with C = groups * I,
    output channel o reading input channel group o // (O / groups) (TFLite reference Conv)."""

    options = Options("Conv2DOptions", padding=Padding, stride_w=Int, stride_h=Int,
                      fused_activation_function=Activation, dilation_w_factor=Int,
                      dilation_h_factor=Int, quantized_bias_type=TensorTypeName)

    def shape(self, attrs, x, w, b=None):
        _groups(x.shape, w.shape)
        out_hw, _ = conv_geometry(attrs, x.shape[1:3], w.shape[1:3], _dilations(attrs))
        return [(x.shape[0], *out_hw, w.shape[0])]

    def run_float(self, attrs, x, w, b=None):
        # im2col + one matmul: the window view reshaped to [N*OH*OW, KH*KW*C] (a copy, except
        # for 1x1 stride-1 filters where the reshape is a view of the input and this is a plain
        # matmul) times the filter as [KH*KW*I, O], a transposed view that BLAS reads directly;
        # or, for few output channels, a matmul per tap (below).
        groups = _groups(x.shape, w.shape)
        n_out, kh, kw, n_in = w.shape
        out_hw, pads = conv_geometry(attrs, x.shape[1:3], (kh, kw), _dilations(attrs))
        cols = windows(pad_nhwc(x, pads), out_hw, (kh, kw), strides_of(attrs), _dilations(attrs))
        rows = x.shape[0] * out_hw[0] * out_hw[1]
        if groups == 1 and kh * kw > 1 and n_out <= 2 * n_in and rows >= 128:
            # Few output channels: im2col would copy KH*KW times the input to feed a thin
            # matmul; one small matmul per tap, accumulated, moves far less memory (4x faster
            # on mediapipe's 3x3, 8 -> 1 channel heads). Below 128 output pixels the copy is
            # cheaper than the KH*KW matmul calls (3x at 4x4 pixels).
            out = np.zeros((*cols.shape[:3], n_out), np.result_type(x, w))
            for i in range(kh):
                for j in range(kw):
                    out += cols[:, :, :, i, j, :] @ w[:, i, j, :].T
            out = out.reshape(rows, n_out)
        elif groups == 1:
            out = cols.reshape(rows, -1) @ w.reshape(n_out, -1).T
        else:  # one matmul per group, batched: [G, rows, KH*KW*I] @ [G, KH*KW*I, O/G]
            cols = cols.reshape(rows, kh * kw, groups, n_in).transpose(2, 0, 1, 3)
            filters = w.reshape(groups, n_out // groups, -1).transpose(0, 2, 1)
            out = (cols.reshape(groups, rows, -1) @ filters).transpose(1, 0, 2)
        out = out.reshape(x.shape[0], *out_hw, n_out)
        if b is not None:
            add_per_channel(out, b)  # TFLite adds the bias after the whole sum
        return out

    def run_jax(self, attrs, x, w, b=None):
        return conv_jax(attrs, x, w, b, _groups(x.shape, w.shape))

    def prepare_integer(self, op, graph):
        # reference_integer_ops::ConvPerChannel (conv.cc Prepare: per-channel multipliers)
        return weighted_sum_kernel(self, op, graph, data=0, weights=1, bias=2)

    def version(self, op, graph):
        x, w = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
        if len(x.shape) == 4 and x.shape[3] != w.shape[3]:
            return 6  # grouped convolution
        if all_of(op, graph, np.int16):
            return 4
        if all_of(op, graph, np.int8):
            return 3
        if is_hybrid(op, graph):
            return 5 if per_channel(graph, op.inputs[1]) else 2
        return 1


def _groups(x_shape, w_shape) -> int:
    if len(x_shape) != 4 or len(w_shape) != 4 or x_shape[3] % w_shape[3]:
        raise ValueError(f"CONV_2D needs an NHWC input whose channels are a multiple of the "
                         f"OHWI filter's {w_shape[-1]} input channels")
    groups = x_shape[3] // w_shape[3]
    if w_shape[0] % groups:
        raise ValueError(f"CONV_2D: {w_shape[0]} filters do not split into {groups} groups")
    return groups


# DEPTHWISE_CONV_2D with a column stride computes every column, then keeps every stride-th, when
# it has at most this many channels (faster up to 32 channels, slower from 72: measured on the
# mediapipe models' layers).
DENSE_COLUMNS_MAX_CHANNELS = 32


# ... and its jax kernel folds W and C into one axis at column stride 1 up to this many channels
# (2.6x faster with 32 channels, on par at 192, slower from 576: bench/bench_backends.py).
JAX_FOLDED_MAX_CHANNELS = 256


@register_op("DEPTHWISE_CONV_2D")
class DepthwiseConv2D(OpDef):
    """Depthwise convolution; filter [1, KH, KW, C*M]: output channel c*M + j filters input
    channel c with filter channel c*M + j (M = depth_multiplier)."""

    options = Options("DepthwiseConv2DOptions", padding=Padding, stride_w=Int, stride_h=Int,
                      depth_multiplier=Int, fused_activation_function=Activation,
                      dilation_w_factor=Int, dilation_h_factor=Int)

    def shape(self, attrs, x, w, b=None):
        _multiplier(x.shape, w.shape)
        out_hw, _ = conv_geometry(attrs, x.shape[1:3], w.shape[1:3], _dilations(attrs))
        return [(x.shape[0], *out_hw, w.shape[3])]

    def run_float(self, attrs, x, w, b=None):
        # With numba installed, a compiled loop sums the KH*KW taps of each output (2-4x
        # faster: ops/compiled.py). Otherwise one einsum over the window view does, reading
        # the input once (a loop of multiply-adds over the taps makes two passes per tap).
        # With a multiplier M, the input channels are first repeated M times, so that channel
        # c*M + j of the repeated input is input channel c.
        multiplier = _multiplier(x.shape, w.shape)
        if multiplier > 1:
            x = np.repeat(x, multiplier, axis=3)
        n, _, _, channels = x.shape
        _, kh, kw, _ = w.shape
        (stride_h, stride_w), dilations = strides_of(attrs), _dilations(attrs)
        out_hw, pads = conv_geometry(attrs, x.shape[1:3], (kh, kw), dilations)
        xp = pad_nhwc(x, pads)
        out = compiled.depthwise_conv(xp, w, b, out_hw, (stride_h, stride_w), dilations)
        if out is not None:
            return out
        # At column stride 1 each tap's (OW, C) block is one contiguous run of the input row:
        # folded into one axis (a view), einsum's inner loop runs over OW*C elements, not C
        # (3-5x faster on MobileNet's stride-1 layers). Strided layers with few channels are
        # computed at every column and subsampled: twice the arithmetic, still 2x faster.
        dense = stride_w == 1 or channels <= DENSE_COLUMNS_MAX_CHANNELS
        columns = max((out_hw[1] - 1) * stride_w + 1, 0) if dense else out_hw[1]
        cols = windows(xp, (out_hw[0], columns), (kh, kw),
                       (stride_h, 1 if dense else stride_w), dilations)
        cols = cols.transpose(0, 1, 3, 4, 2, 5)  # [N, OH, KH, KW, OW, C]
        filters = w.reshape(kh, kw, 1, channels)
        if dense:
            cols = cols.reshape(*cols.shape[:4], -1)
            filters = np.tile(filters, (1, 1, columns, 1)).reshape(kh, kw, -1)
        out = np.einsum("nyij...,ij...->ny...", cols, filters)
        out = out.reshape(n, out_hw[0], columns, channels)
        if columns != out_hw[1]:
            out = np.ascontiguousarray(out[:, :, ::stride_w])
        if b is not None:
            add_per_channel(out, b)
        return out

    def run_jax(self, attrs, x, w, b=None):
        # A sum over the KH*KW taps of strided input slices times the tap's per-channel
        # weights: XLA:CPU's grouped convolution (feature_group_count = C) is about 10x slower
        # on MobileNet's depthwise layers (bench/bench_backends.py). At column stride 1 with
        # few channels, W and C are folded into one axis as in run_float, so that XLA's loops
        # run along whole rows.
        import jax.numpy as jnp

        multiplier = _multiplier(x.shape, w.shape)
        if multiplier > 1:
            x = jnp.repeat(x, multiplier, axis=3)
        n, _, _, channels = x.shape
        _, kh, kw, _ = w.shape
        (dil_h, dil_w), (stride_h, stride_w) = _dilations(attrs), strides_of(attrs)
        out_hw, pads = conv_geometry(attrs, x.shape[1:3], (kh, kw), (dil_h, dil_w))
        xp = jnp.pad(x, ((0, 0), *pads, (0, 0)))
        folded = stride_w == 1 and channels <= JAX_FOLDED_MAX_CHANNELS
        if folded:
            xp = xp.reshape(n, xp.shape[1], -1)
            w = jnp.tile(w[:, :, :, None, :], (1, 1, 1, out_hw[1], 1)).reshape(1, kh, kw, -1)
        out = 0
        for i in range(kh):
            rows = tap_slice(i, dil_h, stride_h, out_hw[0])
            for j in range(kw):
                if folded:
                    tap = xp[:, rows, j * dil_w * channels:(j * dil_w + out_hw[1]) * channels]
                else:
                    tap = xp[:, rows, tap_slice(j, dil_w, stride_w, out_hw[1]), :]
                out = out + tap * w[0, i, j]
        out = out.reshape(n, *out_hw, channels)
        return out if b is None else out + b

    def prepare_integer(self, op, graph):
        # reference_integer_ops::DepthwiseConvPerChannel (depthwise_conv.cc Prepare)
        return weighted_sum_kernel(self, op, graph, data=0, weights=1, bias=2, channel_axis=3)

    def version(self, op, graph):
        if all_of(op, graph, np.int16):
            return 5
        if is_hybrid(op, graph):
            return 6 if per_channel(graph, op.inputs[1]) else 4
        if all_of(op, graph, np.int8):
            return 3
        if _dilations(op.attrs) != (1, 1):
            return 2
        return 1


def _multiplier(x_shape, w_shape) -> int:
    if len(x_shape) != 4 or len(w_shape) != 4 or w_shape[0] != 1 or w_shape[3] % x_shape[3]:
        raise ValueError("DEPTHWISE_CONV_2D needs an NHWC input and a [1, KH, KW, C*M] filter")
    return w_shape[3] // x_shape[3]


@register_op("TRANSPOSE_CONV")
class TransposeConv(OpDef):
    """Transposed convolution (the gradient of CONV_2D w.r.t. its input): inputs
    (output_shape int32[4], filter [O, KH, KW, I], input [N, H, W, I], optional bias [O])."""

    data_input = 2  # inputs are (output_shape, weights, input, bias)
    static_inputs = (0,)
    options = Options("TransposeConvOptions", padding=Padding, stride_w=Int, stride_h=Int,
                      fused_activation_function=Activation,
                      quantized_bias_type=TensorTypeName)

    def shape(self, attrs, output_shape, w, x, b=None):
        if output_shape.value is None:
            return None
        return [tuple(int(d) for d in output_shape.value)]

    def run_float(self, attrs, output_shape, w, x, b=None):
        n, out_h, out_w, n_out = (int(d) for d in output_shape)
        _, kh, kw, n_in = w.shape
        if x.shape[0] != n or x.shape[3] != n_in or w.shape[0] != n_out:
            raise ValueError("TRANSPOSE_CONV: filter [O, KH, KW, I] does not match the input "
                             "[N, H, W, I] or output_shape [N, OH, OW, O]")
        sh, sw = strides_of(attrs)
        # TFLite's padding is that of the forward conv that maps the output back onto the
        # input (SAME padding over output_shape's H, W); (top, left) is where the output
        # window starts on the full, unpadded canvas of scattered taps.
        _, ((top, _), (left, _)) = conv_geometry(attrs, (out_h, out_w), (kh, kw))
        in_h, in_w = x.shape[1:3]
        # Every input pixel times the whole filter: [N, H, W, KH, KW, O], in one matmul.
        taps = (x.reshape(-1, n_in) @ w.transpose(3, 1, 2, 0).reshape(n_in, -1))
        taps = taps.reshape(n, in_h, in_w, kh, kw, n_out)
        # col2im: scatter-add each tap onto the canvas at stride steps.
        xp = array_namespace(x)
        canvas = xp.zeros((n, max((in_h - 1) * sh + kh, top + out_h),
                           max((in_w - 1) * sw + kw, left + out_w), n_out), taps.dtype)
        for i in range(kh):
            for j in range(kw):
                canvas = add_at(canvas, (slice(None), slice(i, i + (in_h - 1) * sh + 1, sh),
                                         slice(j, j + (in_w - 1) * sw + 1, sw)),
                                taps[:, :, :, i, j])
        out = canvas[:, top:top + out_h, left:left + out_w]
        if b is not None:
            return out + b
        return np.ascontiguousarray(out) if xp is np else out

    run_jax = run_float  # NumPy or jax arrays

    def prepare_integer(self, op, graph):
        # reference_integer_ops::TransposeConv: int32 scatter-accumulation, then per channel
        # bias, multiplier and clamp (transpose_conv.cc Prepare: per-channel multipliers)
        return weighted_sum_kernel(self, op, graph, data=2, weights=1, bias=3)

    def version(self, op, graph):
        if op.attrs.get("fused_activation_function", "NONE") != "NONE":
            return 4
        if len(op.inputs) == 4 and op.inputs[3] is not None:
            return 3
        if dtype_of(graph, op.inputs[1]) == np.int8:
            return 2
        return 1
