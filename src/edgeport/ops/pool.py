"""2-D pooling over NHWC activations: MAX_POOL_2D and AVERAGE_POOL_2D (Pool2DOptions).

Both only look at taps inside the image: SAME padding never contributes a value, so a max
ignores it and an average divides by the number of in-image taps (TFLite's reference kernels).
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from .options import Activation, Int, Options, Padding
from .quant_rules import SameAsInput
from .quantized import activation_range
from .registry import OpDef, register_op, traceable
from .windows import conv_geometry, pad_nhwc, strides_of, tap_slice

POOL_OPTIONS = Options("Pool2DOptions", padding=Padding, stride_w=Int, stride_h=Int,
                       filter_width=Int, filter_height=Int,
                       fused_activation_function=Activation)


class Pool2D(OpDef):
    """What the pools share: options, shape rule, version and the window reduction."""

    options = POOL_OPTIONS
    quant = SameAsInput(moves_data=False)

    def shape(self, attrs, x):
        out_hw, _ = _geometry(attrs, x.shape)
        return [(x.shape[0], *out_hw, x.shape[3])]

    def version(self, op, graph):
        x, y = graph.tensors[op.inputs[0]].dtype, graph.tensors[op.outputs[0]].dtype
        if x == np.int16 and y == np.int16:
            return 3
        if x == np.int8:
            return 2
        return 1

    def reduce(self, attrs, x, pad_value: float, combine):
        """Combine (np.maximum or np.add) each window of the input padded with ``pad_value``;
        also returns the padding.

        Both reductions are separable: a KHxKW window costs KH + KW passes instead of KH*KW.
        Sums go along W first, then along H (row sums, then their sum); a max, exact in any
        order, goes along H first, whose passes run over whole contiguous rows of the full
        input, leaving the W passes (runs of C) the smaller array: 20% faster on 2x2 pools.
        A window over the whole image (global pooling) is reduced over H (whole rows at a
        time), then over W: two-level sums as well (in the other order, so a float average may
        differ in the last bit), 20x faster than combining its taps one by one.
        """
        out_hw, pads = _geometry(attrs, x.shape)
        kernel = (attrs["filter_height"], attrs["filter_width"])
        result = pad_nhwc(x, pads, pad_value)
        if out_hw == (1, 1) and kernel == result.shape[1:3]:
            for axis in (1, 2):
                result = combine.reduce(result, axis=axis, keepdims=True, dtype=result.dtype)
            return result, pads
        for axis in (1, 2) if combine is np.maximum else (2, 1):
            size, stride, n_out = kernel[axis - 1], strides_of(attrs)[axis - 1], out_hw[axis - 1]
            taps = [result[(slice(None),) * axis + (tap_slice(i, 1, stride, n_out),)]
                    for i in range(size)]
            result = taps[0].copy()
            for tap in taps[1:]:
                combine(result, tap, out=result)
        return result, pads

    def reduce_either(self, attrs, x, pad_value, kind: str):
        """`reduce` of a NumPy array or `reduce_jax` of a jax one (the integer kernels run in
        both backends); ``kind`` is "max" or "add"."""
        if array_namespace(x) is np:
            return self.reduce(attrs, x, pad_value, np.maximum if kind == "max" else np.add)
        from jax import lax

        return self.reduce_jax(attrs, x, pad_value, lax.max if kind == "max" else lax.add)

    def reduce_jax(self, attrs, x, pad_value: float, combine):
        """`reduce` in jax: one lax.reduce_window (``combine`` is lax.max or lax.add)."""
        from jax import lax

        _, pads = _geometry(attrs, x.shape)
        window = (1, attrs["filter_height"], attrs["filter_width"], 1)
        strides = (1, *strides_of(attrs), 1)
        total = lax.reduce_window(x, x.dtype.type(pad_value), combine, window, strides,
                                  ((0, 0), *pads, (0, 0)))
        return total, pads


def _geometry(attrs, x_shape):
    if len(x_shape) != 4:
        raise ValueError(f"pooling needs an NHWC input, got shape {list(x_shape)}")
    return conv_geometry(attrs, x_shape[1:3], (attrs["filter_height"], attrs["filter_width"]))


@register_op("MAX_POOL_2D")
class MaxPool2D(Pool2D):
    def run_float(self, attrs, x):
        # -inf padding never wins: a SAME window always holds an in-image tap.
        return self.reduce_either(attrs, x, -np.inf, "max")[0]

    def prepare_integer(self, op, graph):
        # reference_integer_ops::MaxPool: the max of the in-image taps (padding with the
        # type's minimum never wins), clamped to the fused activation's bounds. Input and
        # output share their quantization parameters.
        low, high = activation_range(op, graph)
        attrs = op.attrs

        def kernel(inputs):
            x = inputs[0]
            pooled = self.reduce_either(attrs, x, np.iinfo(x.dtype).min, "max")[0]
            return [array_namespace(x).clip(pooled, low, high)]

        return traceable(kernel)


@register_op("AVERAGE_POOL_2D")
class AveragePool2D(Pool2D):
    def window_sums(self, attrs, x):
        """Each window's sum (zero padding adds nothing) and TFLite's divisor, filter_count:
        the number of its in-image taps, (in-image rows) * (in-image columns), as [OH, OW, 1].
        NumPy or jax arrays."""
        total, ((top, _), (left, _)) = self.reduce_either(attrs, x, 0, "add")
        rows = _in_image_taps(x.shape[1], total.shape[1], attrs["filter_height"],
                              attrs["stride_h"], top)
        cols = _in_image_taps(x.shape[2], total.shape[2], attrs["filter_width"],
                              attrs["stride_w"], left)
        return total, np.outer(rows, cols)[:, :, None]

    def run_float(self, attrs, x):
        total, count = self.window_sums(attrs, x)
        return total / count.astype(np.float32)

    def prepare_integer(self, op, graph):
        # reference_integer_ops::AveragePool: the int32 sum of the in-image taps divided by
        # their count, rounded half away from zero in integers,
        # (acc +- count / 2) / count with C's truncating division, then clamped.
        low, high = activation_range(op, graph)
        attrs = op.attrs

        def kernel(inputs):
            x = inputs[0]
            total, count = self.window_sums(attrs, x.astype(np.int64))
            xp = array_namespace(x)
            rounded = xp.sign(total) * ((xp.abs(total) + count // 2) // count)
            return [xp.clip(rounded, low, high).astype(x.dtype)]

        return traceable(kernel)


def _in_image_taps(in_size, out_size, filter_size, stride, pad_before) -> np.ndarray:
    """Per output position along one axis: how many of its filter taps fall inside the image."""
    start = np.arange(out_size) * stride - pad_before
    return np.minimum(start + filter_size, in_size) - np.maximum(start, 0)
