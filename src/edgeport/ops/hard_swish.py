"""HARD_SWISH, ``x * relu6(x + 3) / 6``: the float kernel, and the quantized one in 16-bit fixed
point, bit-exact with LiteRT's (activations.cc HardSwishPrepare, reference_ops::HardSwish in
kernels/internal/reference/hard_swish.h), tabulated over the 256 input values
(`quantized.lookup_kernel`).
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace, numpy_out
from .options import Options
from .quantized import clamp_to_output, in_out_params, lookup_kernel, rescale_multiplier, \
    scale_error
from .registry import register_op
from .unary import UnaryOp

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def hard_swish(x):
    """``x * relu6(x + 3) / 6``, multiplied before the division as TFLite does; on NumPy in
    place in one new array, on jax as one expression."""
    xp = array_namespace(x)
    out = x + x.dtype.type(3)
    out = xp.clip(out, x.dtype.type(0), x.dtype.type(6), **numpy_out(out, out))
    out = xp.multiply(out, x, **numpy_out(out, out))
    return xp.divide(out, x.dtype.type(6), **numpy_out(out, out))


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


def _int16_multiplier(op, graph, real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier: the Q31 multiplier rounded
    to Q15 (``(m + 2**15) >> 16``, 32767 where that would overflow). An exponent above 31
    would shift by more than the int32 ``1 << amount`` holds: refused."""
    multiplier, exponent = rescale_multiplier(op, graph, real, what)
    if multiplier >= (1 << 31) - 1 - (1 << 15):
        return INT16_MAX, exponent
    return (multiplier + (1 << 15)) >> 16, exponent


@register_op("HARD_SWISH")
class HardSwish(UnaryOp):
    options = Options("HardSwishOptions")
    fn = staticmethod(hard_swish)

    def prepare_integer(self, op, graph):
        """HardSwishPrepare (all in float32): the centered input on a "hires" scale
        ``s_in / 128``; its value on the output scale (multiplier ``s_hires / s_out``,
        exponent <= 0 required) times a "relu-ish" factor in [0, 1] (x rescaled so that 3.0
        is 32768, saturated, mapped from [-1, 1] to [0, 1]), multiplied without rounding
        (SaturatingDoublingHighMul), shifted to the output scale."""
        (s_in, z_in), (s_out, z_out) = in_out_params(op, graph)
        hires_scale = np.float32(1.0 / 128.0) * s_in
        out_mult, out_exp = _int16_multiplier(op, graph, float(hires_scale / s_out), "output")
        if out_exp > 0:
            raise scale_error(op, graph, f"its output multiplier {hires_scale / s_out:.3g} "
                                         "exceeds 1, which LiteRT's Prepare refuses")
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
            return clamp_to_output(out, op, graph)

        return lookup_kernel(table, op, graph)
