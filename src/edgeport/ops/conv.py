"""CONV_2D (input NHWC, filter OHWI, grouped when the input has a multiple of the filter's
input channels) and TRANSPOSE_CONV; DEPTHWISE_CONV_2D is depthwise_conv.py. Their integer
kernels are `quantized.weighted_sum_kernel`, which their `Weighted` rules configure.
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from .activations import FUSABLE
from .common import add_per_channel
from .options import Activation, Int, Options, Padding, TensorTypeName
from .quant_rules import Weighted
from .quantized import weighted_sum_kernel
from .registry import OpDef, register_op
from .versioning import all_of, dtype_of, is_hybrid, per_channel
from .windows import conv_geometry, dilations_of, pad_nhwc, strides_of, tap_slice, windows


# The jax CONV_2D gathers patches of at most this many values and multiplies them by the filter
# (faster than XLA:CPU's convolution there: BENCHMARKS.md, bench/bench_backends.py).
IM2COL_MAX_PATCH = 32


def conv_jax(attrs, x, w, b, groups: int):
    """The jax kernel of CONV_2D over NHWC input and OHWI filter, with TFLite's padding
    (`conv_geometry`) and dilations, in float32 ("highest" precision: no TF32 on GPUs).

    XLA:CPU's convolution is slow on tiny contractions, so two cases become one matmul of
    the pixels by the filter: a 1x1 filter (it never pads) and a filter with small patches
    (IM2COL_MAX_PATCH), whose patches are gathered first (im2col). Other filters are one XLA
    convolution. A fast path (BENCHMARKS.md); run_float is the reference.
    """
    import jax.numpy as jnp
    from jax import lax

    n_out, kh, kw, n_in = w.shape
    dilations, (stride_h, stride_w) = dilations_of(attrs), strides_of(attrs)
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
class Convolution(OpDef):
    """What CONV_2D and DEPTHWISE_CONV_2D share: NHWC input, a [*, KH, KW, *] filter whose
    output channels are on its `Weighted` rule's axis, the fused activations they absorb, the
    shape rule. ``check(x_shape, w_shape)`` refuses filters that do not fit the input."""

    fusable_activations = FUSABLE

    def check(self, x_shape, w_shape) -> int:
        raise NotImplementedError

    def shape(self, attrs, x, w, b=None):
        self.check(x.shape, w.shape)
        out_hw, _ = conv_geometry(attrs, x.shape[1:3], w.shape[1:3], dilations_of(attrs))
        return [(x.shape[0], *out_hw, w.shape[self.quant.axis])]


@register_op("CONV_2D")
class Conv2D(Convolution):
    """2-D convolution; input [N, H, W, C], filter [O, KH, KW, I] with C = groups * I,
    output channel o reading input channel group o // (O / groups) (TFLite reference Conv)."""

    options = Options("Conv2DOptions", padding=Padding, stride_w=Int, stride_h=Int,
                      fused_activation_function=Activation, dilation_w_factor=Int,
                      dilation_h_factor=Int, quantized_bias_type=TensorTypeName)
    quant = Weighted(weights=1, bias=2, axis=0, needs_bias=True)

    def check(self, x_shape, w_shape) -> int:
        """The number of groups."""
        return _groups(x_shape, w_shape)

    def run_float(self, attrs, x, w, b=None):
        # im2col + one matmul: the window view reshaped to [N*OH*OW, KH*KW*C] (a copy, except
        # for 1x1 stride-1 filters where the reshape is a view of the input and this is a plain
        # matmul) times the filter as [KH*KW*I, O], a transposed view that BLAS reads directly;
        # or, for few output channels, a matmul per tap (below).
        groups = _groups(x.shape, w.shape)
        n_out, kh, kw, n_in = w.shape
        dilations = dilations_of(attrs)
        out_hw, pads = conv_geometry(attrs, x.shape[1:3], (kh, kw), dilations)
        cols = windows(pad_nhwc(x, pads), out_hw, (kh, kw), strides_of(attrs), dilations)
        rows = x.shape[0] * out_hw[0] * out_hw[1]
        if groups == 1 and kh * kw > 1 and n_out <= 2 * n_in and rows >= 128:
            # Few output channels: im2col would copy KH*KW times the input to feed a thin
            # matmul; one small matmul per tap, accumulated, moves far less memory. Below 128
            # output pixels the copy is cheaper than the KH*KW matmul calls (BENCHMARKS.md).
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

    def macs_per_output(self, op, shapes):
        _, kh, kw, n_in = shapes.get(op.inputs[1], (1, 1, 1, 1))
        return kh * kw * n_in

    def run_jax(self, attrs, x, w, b=None):
        # A jax fast path: run_float's strided views do not trace (conv_jax).
        return conv_jax(attrs, x, w, b, _groups(x.shape, w.shape))

    def prepare_integer(self, op, graph):
        # reference_integer_ops::ConvPerChannel (conv.cc Prepare: per-channel multipliers)
        return weighted_sum_kernel(self, op, graph)

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


@register_op("TRANSPOSE_CONV")
class TransposeConv(OpDef):
    """Transposed convolution (the gradient of CONV_2D w.r.t. its input): inputs
    (output_shape int32[4], filter [O, KH, KW, I], input [N, H, W, I], optional bias [O])."""

    data_input = 2  # inputs are (output_shape, weights, input, bias)
    static_inputs = (0,)
    options = Options("TransposeConvOptions", padding=Padding, stride_w=Int, stride_h=Int,
                      fused_activation_function=Activation,
                      quantized_bias_type=TensorTypeName)
    quant = Weighted(weights=1, bias=3, axis=0, data=2)

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

    def macs_per_output(self, op, shapes):
        return shapes[op.inputs[1]][-1] if op.inputs[1] in shapes else 1

    def prepare_integer(self, op, graph):
        # reference_integer_ops::TransposeConv: int32 scatter-accumulation, then per channel
        # bias, multiplier and clamp (transpose_conv.cc Prepare: per-channel multipliers)
        return weighted_sum_kernel(self, op, graph)

    def version(self, op, graph):
        if op.attrs.get("fused_activation_function", "NONE") != "NONE":
            return 4
        if len(op.inputs) == 4 and op.inputs[3] is not None:
            return 3
        if dtype_of(graph, op.inputs[1]) == np.int8:
            return 2
        return 1
