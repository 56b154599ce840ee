"""DEPTHWISE_CONV_2D: filter 1HW(C*M), each input channel filtered by its own M filters. Its
integer kernel is `quantized.weighted_sum_kernel`, which its `Weighted` rule configures.
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from . import compiled
from .common import add_per_channel
from .conv import Convolution
from .options import Activation, Int, Options, Padding
from .quant_rules import Weighted
from .quantized import weighted_sum_kernel
from .registry import register_op
from .versioning import all_of, is_hybrid, per_channel
from .windows import conv_geometry, dilations_of, pad_nhwc, strides_of, tap_slice, windows


# With a column stride, the NumPy kernel computes every column, then keeps every stride-th, up
# to this many channels; the jax kernel folds W and C into one axis at column stride 1 up to
# JAX_FOLDED_MAX_CHANNELS. Both thresholds are measured (BENCHMARKS.md, bench/bench_backends.py).
DENSE_COLUMNS_MAX_CHANNELS = 32
JAX_FOLDED_MAX_CHANNELS = 256


@register_op("DEPTHWISE_CONV_2D")
class DepthwiseConv2D(Convolution):
    """Depthwise convolution; filter [1, KH, KW, C*M]: output channel c*M + j filters input
    channel c with filter channel c*M + j (M = depth_multiplier)."""

    options = Options("DepthwiseConv2DOptions", padding=Padding, stride_w=Int, stride_h=Int,
                      depth_multiplier=Int, fused_activation_function=Activation,
                      dilation_w_factor=Int, dilation_h_factor=Int)
    quant = Weighted(weights=1, bias=2, axis=3, needs_bias=True)

    def check(self, x_shape, w_shape) -> int:
        """The depth multiplier M."""
        if len(x_shape) != 4 or len(w_shape) != 4 or w_shape[0] != 1 or \
                w_shape[3] % x_shape[3]:
            raise ValueError("DEPTHWISE_CONV_2D needs an NHWC input and a [1, KH, KW, C*M] "
                             "filter")
        return w_shape[3] // x_shape[3]

    def layout(self, attrs, x, w):
        """``x`` with each input channel repeated M times (channel c*M + j of the result is
        input channel c), and the geometry: (x, strides, dilations, out_hw, pads)."""
        multiplier = self.check(x.shape, w.shape)
        if multiplier > 1:
            x = array_namespace(x).repeat(x, multiplier, axis=3)
        dilations = dilations_of(attrs)
        out_hw, pads = conv_geometry(attrs, x.shape[1:3], w.shape[1:3], dilations)
        return x, strides_of(attrs), dilations, out_hw, pads

    def run_float(self, attrs, x, w, b=None):
        # With numba installed, a compiled loop sums the KH*KW taps of each output
        # (ops/compiled.py). Otherwise one einsum over the window view does, reading the input
        # once (a loop of multiply-adds over the taps makes two passes per tap).
        x, (stride_h, stride_w), dilations, out_hw, pads = self.layout(attrs, x, w)
        n, _, _, channels = x.shape
        _, kh, kw, _ = w.shape
        xp = pad_nhwc(x, pads)
        out = compiled.depthwise_conv(xp, w, b, out_hw, (stride_h, stride_w), dilations)
        if out is not None:
            return out
        # At column stride 1 each tap's (OW, C) block is one contiguous run of the input row:
        # folded into one axis (a view), einsum's inner loop runs over OW*C elements, not C.
        # Strided layers with few channels are computed at every column and subsampled: twice
        # the arithmetic, still faster (BENCHMARKS.md).
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
        # A jax fast path: a sum over the KH*KW taps of strided input slices times the tap's
        # per-channel weights, where XLA:CPU's grouped convolution (feature_group_count = C)
        # is slow (BENCHMARKS.md). At column stride 1 with few channels, W and C are folded
        # into one axis as in run_float, so that XLA's loops run along whole rows.
        import jax.numpy as jnp

        x, (stride_h, stride_w), (dil_h, dil_w), out_hw, pads = self.layout(attrs, x, w)
        n, _, _, channels = x.shape
        _, kh, kw, _ = w.shape
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

    def macs_per_output(self, op, shapes):
        _, kh, kw, _ = shapes.get(op.inputs[1], (1, 1, 1, 1))
        return kh * kw

    def prepare_integer(self, op, graph):
        # reference_integer_ops::DepthwiseConvPerChannel (depthwise_conv.cc Prepare)
        return weighted_sum_kernel(self, op, graph)

    def version(self, op, graph):
        if all_of(op, graph, np.int16):
            return 5
        if is_hybrid(op, graph):
            return 6 if per_channel(graph, op.inputs[1]) else 4
        if all_of(op, graph, np.int8):
            return 3
        if dilations_of(op.attrs) != (1, 1):
            return 2
        return 1
