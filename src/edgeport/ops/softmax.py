"""Normalizations over the last axis: SOFTMAX, LOG_SOFTMAX, L2_NORMALIZATION.

Each mirrors TFLite's float reference kernel row by row (the last axis is the "depth"), with the
max subtracted before exponentiating so that large inputs cannot overflow.
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from ..fixedpoint import (calculate_input_radius, count_leading_zeros32,
                          exp_on_negative_values, inv_sqrt_multiplier,
                          multiply_by_quantized_multiplier, one_over_one_plus_x_for_x_in_0_1,
                          quantize_multiplier, rounding_divide_by_pot,
                          saturating_rounding_doubling_high_mul, wrap_int32)
from .options import Activation, Float, Options
from .quant_rules import Fixed
from .quantized import output_info, scale_error, scale_zero
from .registry import OpDef, register_op, traceable

# reference_ops::L2Normalization divides by max(||x||, epsilon) so that zero rows stay zero.
L2_NORM_EPSILON = np.float32(1e-6)


class LastAxisOp(OpDef):
    """An op over the last axis whose output has its input's shape."""

    def shape(self, attrs, x):
        return [x.shape]


@register_op("SOFTMAX")
class Softmax(LastAxisOp):
    options = Options("SoftmaxOptions", beta=Float)
    quant = Fixed(1 / 256, -128)

    def run_float(self, attrs, x):
        # reference_ops::Softmax: exp((x - max) * beta) / sum. Subtracting the max keeps the
        # exponents <= 0 for beta >= 0; for a negative beta the min does the same.
        beta = x.dtype.type(attrs["beta"])
        shift = x.max(axis=-1, keepdims=True) if beta >= 0 else x.min(axis=-1, keepdims=True)
        e = array_namespace(x).exp((x - shift) * beta)
        return e / e.sum(axis=-1, keepdims=True)

    def prepare_integer(self, op, graph):
        # reference_ops::Softmax (softmax.h), the kernel BUILTIN_REF runs for 8-bit inputs, in
        # gemmlowp fixed point. Prepare (PreprocessSoftmaxScaling): the input differences
        # x - max are rescaled by beta * s_in into FixedPoint<5> (Q5.26), capped at 2**31 - 1;
        # differences below diff_min (-CalculateInputRadius) have exp() = 0. That rescale must
        # exceed 1 (QuantizeMultiplierGreaterThanOne): LiteRT aborts on a smaller one.
        in_scale, _ = scale_zero(op, graph, op.inputs[0])
        real = _diff_multiplier(op, float(in_scale))
        if not real > 1:
            raise scale_error(op, graph, f"beta * input scale is {real / (1 << 26):.3g}, not "
                                         "above 2**-26, where LiteRT's Prepare aborts")
        multiplier, left_shift = quantize_multiplier(min(real, (1 << 31) - 1.0))
        diff_min = -calculate_input_radius(5, left_shift)
        info = np.iinfo(graph.tensors[op.outputs[0]].dtype)

        def kernel(inputs):
            xp = array_namespace(inputs[0])
            x = inputs[0].astype(np.int64)
            diff = x - x.max(axis=-1, keepdims=True)
            inside = diff >= diff_min
            # MultiplyByQuantizedMultiplierGreaterThanOne, then exp -> FixedPoint<0>
            scaled = saturating_rounding_doubling_high_mul(wrap_int32(diff << left_shift),
                                                           multiplier)
            exps = xp.where(inside, exp_on_negative_values(scaled, 5), 0)
            # Sum in FixedPoint<12> (Rescale<12>: a rounding right shift by 12)
            total = rounding_divide_by_pot(exps, 12).sum(axis=-1, keepdims=True)
            # GetReciprocal: 1 / total as FixedPoint<0> times 2**num_bits_over_unit
            headroom = count_leading_zeros32(total)
            bits_over_unit = 12 - headroom
            reciprocal = one_over_one_plus_x_for_x_in_0_1((total << headroom) - (1 << 31))
            # exp * reciprocal, scaled to the output's 1/2**bits steps and offset by its min
            out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(reciprocal, exps),
                                         bits_over_unit + 31 - info.bits) + info.min
            out = xp.where(inside, xp.clip(out, info.min, info.max), info.min)
            return [out.astype(info.dtype)]

        return traceable(kernel)

    def min_input_scale(self, op):
        # The smallest float32 scale whose rescale into Q5.26 exceeds 1 (none for beta <= 0).
        if not _diff_multiplier(op, 1.0) > 0:
            return 0.0
        scale = np.float32(2.0 ** -26 / float(np.float32(op.attrs["beta"])))
        while not _diff_multiplier(op, float(scale)) > 1:
            scale = np.nextafter(scale, np.float32(np.inf))
        return float(scale)


def _diff_multiplier(op, in_scale: float) -> float:
    """SOFTMAX's real rescale of input differences into Q5.26, ``beta * s_in * 2**26``, in
    double from the float32 beta and scale (PreprocessSoftmaxScaling, before its cap)."""
    return float(np.float32(op.attrs["beta"])) * in_scale * (1 << 26)


@register_op("LOG_SOFTMAX")
class LogSoftmax(LastAxisOp):
    options = Options("LogSoftmaxOptions")
    quant = Fixed(16 / 256, 127)

    def run_float(self, attrs, x):
        # reference_ops::LogSoftmax: (x - max) - log(sum(exp(x - max))).
        xp = array_namespace(x)
        shifted = x - x.max(axis=-1, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


@register_op("L2_NORMALIZATION")
class L2Normalization(LastAxisOp):
    options = Options("L2NormOptions", fused_activation_function=Activation)
    quant = Fixed(1 / 128, 0)

    def run_float(self, attrs, x):
        xp = array_namespace(x)
        norm = xp.sqrt((x * x).sum(axis=-1, keepdims=True))
        return x / xp.maximum(norm, L2_NORM_EPSILON)

    def prepare_integer(self, op, graph):
        """L2_NORMALIZATION on 8-bit values (l2norm.cc; output scale 1/128, zero point 0 for
        int8, 128 for uint8): per row the int32 sum of squared centered inputs, its inverse
        square root (`inv_sqrt_multiplier`), then int8 (reference_integer_ops::
        L2Normalization) ``MultiplyByQuantizedMultiplier(d, inv, shift + 7)`` clamped, or
        uint8 (reference_ops::L2Normalization) ``128 + MultiplyByQuantizedMultiplier(128 d,
        inv, shift)`` clamped."""
        _, z_in = scale_zero(op, graph, op.inputs[0])
        info = output_info(op, graph)
        unsigned = info.min == 0

        def kernel(inputs):
            d = inputs[0].astype(np.int64) - z_in
            inv, shift = inv_sqrt_multiplier(wrap_int32((d * d).sum(axis=-1, keepdims=True)))
            if unsigned:
                out = 128 + multiply_by_quantized_multiplier(128 * d, inv, shift)
            else:
                out = multiply_by_quantized_multiplier(d, inv, shift + 7)
            return [np.clip(out, info.min, info.max).astype(info.dtype)]

        return kernel

    def version(self, op, graph):
        return 2 if graph.tensors[op.inputs[0]].dtype == np.int8 else 1
