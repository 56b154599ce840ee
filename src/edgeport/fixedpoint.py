"""TFLite's integer arithmetic, bit-exact: the rounding and fixed-point multipliers of its
reference kernels (tensorflow/lite/kernels/internal/common.h, quantization_util.cc, and
gemmlowp's fixedpoint.h). See shared/reference/tflite.md §2 for the arithmetic.
"""

from __future__ import annotations

import math

import numpy as np


def round_half_away(x: np.ndarray) -> np.ndarray:
    """TfLiteRound (std::round) on a float array: halves round away from zero, exactly.

    ``floor(x + 0.5)`` would be wrong in float32: 0.49999997 + 0.5 rounds to 1.
    """
    whole = np.trunc(x)
    step = np.where(np.abs(x - whole) >= 0.5, np.sign(x), 0).astype(whole.dtype)
    return whole + step


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier (quantization_util.cc): ``real ~= multiplier * 2**(shift - 31)`` with
    a Q31 ``multiplier`` in [2**30, 2**31); tiny multipliers flush to zero."""
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)
    fixed = int(math.copysign(math.floor(abs(fraction) * (1 << 31) + 0.5), fraction))
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return fixed, shift


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier on int32 values (as int64): a left shift, gemmlowp's
    SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT (round half away from zero).
    The saturating case (both factors INT32_MIN) cannot occur for 8/16-bit inputs."""
    left, right = max(shift, 0), max(-shift, 0)
    product = (x.astype(np.int64) << left) * multiplier
    nudged = product + np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    high = np.sign(nudged) * (np.abs(nudged) >> 31)  # C++ division truncates toward zero
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + ((high & mask) > threshold)
