"""Integer kernels of the quantized activations (RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU,
HARD_SWISH, PRELU), bit-exact with LiteRT's reference kernels (tensorflow/lite/kernels/
activations.cc Prepare/Eval; kernels/internal/reference/{reference_ops.h ReluX, leaky_relu.h,
hard_swish.h, prelu.h}).

The one-input activations are elementwise functions of one 8-bit value, so each is computed
once for every possible input as a 256-entry table (`lookup_kernel`) of the reference
arithmetic. Their Prepare computes the real multipliers in float32 (``input->params.scale /
output->params.scale`` divides two floats before widening to double), which matters for the
last bit of QuantizeMultiplier.
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from ..fixedpoint import multiply_by_quantized_multiplier
from ..graph import Graph, Op
from .quantized import (activation_range, lookup_kernel, rescale_multiplier, scale_error,
                        scale_zero)
from .registry import traceable


def _in_out(op: Op, graph: Graph):
    """((s_in, zp_in), (s_out, zp_out)) of a one-input op, scales as float32."""
    return (scale_zero(op, graph, op.inputs[0]), scale_zero(op, graph, op.outputs[0]))


def _clamp_to(values, op: Op, graph: Graph):
    info = np.iinfo(graph.tensors[op.outputs[0]].dtype)
    return array_namespace(values).clip(values, info.min, info.max)


def relu_kernel(op: Op, graph: Graph, activation: str):
    """RELU / RELU6 / RELU_N1_TO_1 (ReluPrepare + QuantizedReluX + ReluX): the input rescaled
    to the output, ``zp_out + MultiplyByQuantizedMultiplier(q - zp_in, M, shift)`` with
    ``M = s_in / s_out`` (float32 division), clamped to ``zp_out + roundf(lo / s_out)`` and
    ``zp_out + roundf(hi / s_out)`` (RELU: the type's max) within the type's range."""
    (s_in, z_in), (s_out, z_out) = _in_out(op, graph)
    multiplier, shift = rescale_multiplier(op, graph, float(s_in / s_out))
    low, high = activation_range(op, graph, activation)

    def table(q):
        return np.clip(z_out + multiply_by_quantized_multiplier(q - z_in, multiplier, shift),
                       low, high)

    return lookup_kernel(table, op, graph)


def leaky_relu_kernel(op: Op, graph: Graph):
    """LEAKY_RELU (LeakyReluPrepare + reference_ops::QuantizeLeakyRelu): ``d = q - zp_in``
    rescaled by ``s_in / s_out`` where d >= 0 and by ``s_in * alpha / s_out`` (float32; alpha
    may be negative or above 1) where d < 0, plus zp_out, clamped to the type."""
    (s_in, z_in), (s_out, z_out) = _in_out(op, graph)
    alpha = np.float32(op.attrs["alpha"])
    m_alpha, shift_alpha = rescale_multiplier(op, graph, float(s_in * alpha / s_out), "alpha")
    m_identity, shift_identity = rescale_multiplier(op, graph, float(s_in / s_out))

    def table(q):
        d = q - z_in
        scaled = np.where(d >= 0, multiply_by_quantized_multiplier(d, m_identity, shift_identity),
                          multiply_by_quantized_multiplier(d, m_alpha, shift_alpha))
        return _clamp_to(z_out + scaled, op, graph)

    return lookup_kernel(table, op, graph)


# -- HARD_SWISH: 16-bit fixed point (reference_ops::HardSwish, hard_swish.h) -------------------
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def _wrap_int16(x):
    """Values as a C++ int16_t assignment leaves them (two's complement)."""
    return (np.asarray(x, np.int64) + (1 << 15)) % (1 << 16) - (1 << 15)


def _srdhm16(a, b):
    """gemmlowp::SaturatingRoundingDoublingHighMul on int16: ``(a * b + nudge) / 2**15``,
    nudge ``2**14`` (``1 - 2**14`` for a negative product), truncating; -32768**2 saturates."""
    product = np.asarray(a, np.int64) * np.asarray(b, np.int64)
    nudged = product + np.where(product >= 0, 1 << 14, 1 - (1 << 14))
    high = np.sign(nudged) * (np.abs(nudged) >> 15)
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, high)


def _rounding_divide_by_pot16(x, exponent: int):
    """gemmlowp::RoundingDivideByPOT on int16: its mask ``(1 << exponent) - 1`` is an int16
    too, so exponents >= 16 give a mask of -1 (and the odd results TFLite has there)."""
    x = np.asarray(x, np.int64)
    mask = int(_wrap_int16((1 << exponent) - 1))
    threshold = (mask >> 1) + (x < 0)
    return _wrap_int16((x >> exponent) + (_wrap_int16(x & mask) > threshold))


def _saturating_left_shift16(x, amount: int):
    """hard_swish.h SaturatingLeftShift: ``x * 2**amount`` clamped to int16."""
    return np.clip(np.asarray(x, np.int64) << amount, INT16_MIN, INT16_MAX)


def _int16_multiplier(op: Op, graph: Graph, real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier: the Q31 multiplier rounded
    to Q15 (``(m + 2**15) >> 16``, 32767 where that would overflow). An exponent above 31
    would shift by more than the int32 ``1 << amount`` holds: refused."""
    multiplier, exponent = rescale_multiplier(op, graph, real, what)
    if multiplier >= (1 << 31) - 1 - (1 << 15):
        return INT16_MAX, exponent
    return (multiplier + (1 << 15)) >> 16, exponent


def hard_swish_kernel(op: Op, graph: Graph):
    """HARD_SWISH ``x * relu6(x + 3) / 6`` in 16-bit fixed point (HardSwishPrepare, all in
    float32): the centered input on a "hires" scale ``s_in / 128``; its value on the output
    scale (multiplier ``s_hires / s_out``, exponent <= 0 required) times a "relu-ish" factor
    in [0, 1] (x rescaled so that 3.0 is 32768, saturated, mapped from [-1, 1] to [0, 1]),
    multiplied without rounding (SaturatingDoublingHighMul), shifted to the output scale."""
    (s_in, z_in), (s_out, z_out) = _in_out(op, graph)
    hires_scale = np.float32(1.0 / 128.0) * s_in
    out_mult, out_exp = _int16_multiplier(op, graph, float(hires_scale / s_out), "output")
    if out_exp > 0:
        raise scale_error(op, graph, f"its output multiplier {hires_scale / s_out:.3g} exceeds "
                                     "1, which LiteRT's Prepare refuses")
    relu_mult, relu_exp = _int16_multiplier(
        op, graph, float(hires_scale / np.float32(3.0 / 32768.0)), "relu-ish")

    def table(q):
        hires = _wrap_int16((q - z_in) * 128)
        preshift_output = _srdhm16(hires, out_mult)
        reluish = hires
        if relu_exp > 0:
            reluish = _saturating_left_shift16(reluish, relu_exp - 1)
        reluish = _srdhm16(reluish, relu_mult)
        if relu_exp > 0:
            reluish = _saturating_left_shift16(reluish, 1)
        if relu_exp < 0:
            reluish = _rounding_divide_by_pot16(reluish, -relu_exp)
        reluish = (reluish + (1 << 15)) >> 1
        # SaturatingDoublingHighMul: the product / 2**15, truncated toward zero
        product = reluish * preshift_output
        preshift = np.sign(product) * (np.abs(product) >> 15)
        out = _wrap_int16(_rounding_divide_by_pot16(preshift, -out_exp) + z_out)
        return _clamp_to(out, op, graph)

    return lookup_kernel(table, op, graph)


def prelu_kernel(op: Op, graph: Graph):
    """PRELU (PreluPrepare + reference_ops::BroadcastPrelu4DSlow / Prelu): with
    ``d = q - zp_in``, ``d * s_in / s_out`` where d >= 0, else
    ``d * (alpha - zp_alpha) * s_in * s_alpha / s_out`` (multipliers in float32), plus
    zp_out, clamped. Alpha broadcasts against the input (per channel: shape (C,) or
    (1, 1, C)); it is quantized per tensor, as TFLite reads only one scale."""
    (s_in, z_in), (s_out, z_out) = _in_out(op, graph)
    s_alpha, z_alpha = scale_zero(op, graph, op.inputs[1])
    m_pos, shift_pos = rescale_multiplier(op, graph, float(s_in / s_out))
    m_neg, shift_neg = rescale_multiplier(op, graph, float(s_in * s_alpha / s_out), "alpha")

    def kernel(inputs):
        x, alpha = inputs
        xp = array_namespace(x, alpha)
        d = x.astype(np.int64) - z_in
        a = xp.broadcast_to(alpha.astype(np.int64) - z_alpha, d.shape)
        scaled = xp.where(d >= 0, multiply_by_quantized_multiplier(d, m_pos, shift_pos),
                          multiply_by_quantized_multiplier(d * a, m_neg, shift_neg))
        return [_clamp_to(z_out + scaled, op, graph).astype(x.dtype)]

    return traceable(kernel)
