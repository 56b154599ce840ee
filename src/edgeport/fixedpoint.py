"""TFLite's integer arithmetic, bit-exact: the rounding and fixed-point multipliers of its
reference kernels (tensorflow/lite/kernels/internal/common.h, quantization_util.cc, and
gemmlowp's fixedpoint.h). See shared/reference/tflite.md §2 for the arithmetic.

The functions on arrays take NumPy or jax arrays alike (`edgeport.arrays`): the jax backend
traces the integer kernels built on them, with jax's 64-bit types on, so its integer results are
the NumPy interpreter's to the bit.
"""

from __future__ import annotations

import math

import numpy as np

from .arrays import array_namespace


def round_half_away(x: np.ndarray) -> np.ndarray:
    """TfLiteRound (std::round) on a float array: halves round away from zero, exactly.

    ``floor(x + 0.5)`` would be wrong in float32: 0.49999997 + 0.5 rounds to 1. On jax arrays
    it is XLA's own rounding op: the subtraction below could be fused by XLA with a product
    that ``x`` is into one multiply-add, which rounds differently. (The two forms may differ in
    the sign of a zero result; callers cast to integers.)
    """
    xp = array_namespace(x)
    if xp is not np:
        from jax import lax

        return lax.round(x, lax.RoundingMethod.AWAY_FROM_ZERO)
    whole = xp.trunc(x)
    step = xp.where(xp.abs(x - whole) >= 0.5, xp.sign(x), 0).astype(whole.dtype)
    return whole + step


def truncating_divide(a, b: int):
    """C integer division (truncating toward zero) by a positive ``b``, in int64."""
    xp = array_namespace(a)
    a = xp.asarray(a, dtype=xp.int64)
    return xp.sign(a) * (xp.abs(a) // b)


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


INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Values as C++ int32 arithmetic leaves them (two's complement wrap-around), in int64."""
    xp = array_namespace(x)
    return (xp.asarray(x, dtype=xp.int64) + (1 << 31)) % (1 << 32) - (1 << 31)


def saturating_rounding_doubling_high_mul(a, b, bits: int = 32) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 (or, ``bits=16``, int16) values,
    returned as int64: ``(a * b + nudge) / 2**(bits - 1)`` with ``nudge = 2**(bits - 2)`` for
    a non-negative product and ``1 - 2**(bits - 2)`` otherwise, C division truncating toward
    zero; MIN * MIN, the one overflow, saturates to MAX."""
    xp = array_namespace(a, b)
    a, b = xp.asarray(a, dtype=xp.int64), xp.asarray(b, dtype=xp.int64)
    lowest = -(1 << (bits - 1))
    product = a * b
    nudged = product + xp.where(product >= 0, 1 << (bits - 2), 1 - (1 << (bits - 2)))
    high = xp.sign(nudged) * (xp.abs(nudged) >> (bits - 1))
    return xp.where((a == lowest) & (b == lowest), -lowest - 1, high)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: ``x / 2**exponent`` rounded half away from zero
    (``exponent`` may be an array, one per element or channel)."""
    xp = array_namespace(x, exponent)
    x, exponent = xp.asarray(x, dtype=xp.int64), xp.asarray(exponent, dtype=xp.int64)
    mask = (xp.ones_like(exponent) << exponent) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + ((x & mask) > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (common.h, double rounding): ``x * 2**max(shift, 0)`` as
    int32, SaturatingRoundingDoublingHighMul by the Q31 ``multiplier``, then RoundingDivideByPOT
    by ``max(-shift, 0)``. ``multiplier`` and ``shift`` may be per-element/channel arrays."""
    xp = array_namespace(x, shift)
    shift = xp.asarray(shift, dtype=xp.int64)
    shifted = wrap_int32(xp.asarray(x, dtype=xp.int64) << xp.maximum(shift, 0))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier),
                                  xp.maximum(-shift, 0))


def quantize_multipliers(reals) -> tuple[np.ndarray, np.ndarray]:
    """`quantize_multiplier` over an array of real multipliers: (multipliers, shifts)."""
    pairs = [quantize_multiplier(float(r)) for r in np.ravel(reals)]
    return (np.array([m for m, _ in pairs], np.int64), np.array([s for _, s in pairs], np.int64))


# -- gemmlowp fixed-point functions (fixedpoint/fixedpoint.h), on int64 arrays holding int32
# raw values (``bits=16``: int16 ones, the integer LSTM's). A FixedPoint<raw, I> has I integer
# bits and bits - 1 - I fractional bits; its product with a FixedPoint<J> is a FixedPoint<I + J>
# whose raw value is SaturatingRoundingDoublingHighMul. gemmlowp writes its constants as int32
# raw values and rounds them to the narrower type (RescaleConstantInitializer).

def _constant(raw32: int, bits: int) -> int:
    """An int32 raw constant of gemmlowp on ``bits``-bit raw values."""
    return int(rounding_divide_by_pot(np.int64(raw32), 32 - bits))


def _one(bits: int) -> int:
    """FixedPoint<0>::One(): the largest raw value."""
    return (1 << (bits - 1)) - 1


def _negate(x, bits: int):
    """Raw negation as the C++ type leaves it: -MIN wraps to MIN."""
    xp = array_namespace(x)
    return xp.where(x == -(1 << (bits - 1)), x, -x)


def saturating_left_shift(x, exponent: int, bits: int = 32) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT with a positive exponent: ``x << exponent``, saturated
    to the ``bits``-bit range."""
    threshold = (1 << (bits - 1 - exponent)) - 1
    xp = array_namespace(x)
    x = xp.asarray(x, dtype=xp.int64)
    return xp.where(x > threshold, _one(bits),
                    xp.where(x < -threshold, -(1 << (bits - 1)), x << exponent))


def exp_on_interval_between_negative_one_quarter_and_0_excl(a: np.ndarray,
                                                            bits: int = 32) -> np.ndarray:
    """exp(a) for a FixedPoint<0> in [-1/4, 0): a Taylor expansion around -1/8,
    exp(-1/8) * (1 + x + x**2/2 + x**3/6 + x**4/24) with x = a + 1/8. The last sum saturates
    on int16 (AddSaturatingIf16Bit)."""
    def mul(u, v):
        return saturating_rounding_doubling_high_mul(u, v, bits)

    x = a + (1 << (bits - 4))  # a + 1/8
    x2 = mul(x, x)
    x3 = mul(x2, x)
    x4 = mul(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    third = _constant(715827883, bits)  # 1/3
    poly = rounding_divide_by_pot(mul(x4_over_4 + x3, third) + x2, 1)
    constant_term = _constant(1895147668, bits)  # exp(-1/8)
    result = constant_term + mul(constant_term, x + poly)
    if bits == 16:
        result = array_namespace(result).clip(result, -(1 << 15), _one(16))
    return result


def exp_on_negative_values(a: np.ndarray, integer_bits: int, bits: int = 32) -> np.ndarray:
    """gemmlowp exp_on_negative_values: exp(a) as a FixedPoint<0> for a FixedPoint<I> a <= 0,
    by exp on [-1/4, 0) times a barrel shifter of exp(-2**k) constants."""
    fractional_bits = bits - 1 - integer_bits
    xp = array_namespace(a)
    a = xp.asarray(a, dtype=xp.int64)
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_left_shift(a_mod_quarter_minus_one_quarter, integer_bits, bits), bits)
    remainder = a_mod_quarter_minus_one_quarter - a
    barrel = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
              (2, 39332535), (3, 720401), (4, 242))
    for exponent, multiplier in barrel:  # multiplier = exp(-2**exponent) in Q0.31
        if integer_bits > exponent:
            bit = (remainder & (1 << (fractional_bits + exponent))) != 0
            result = xp.where(bit, saturating_rounding_doubling_high_mul(
                result, _constant(multiplier, bits), bits), result)
    if integer_bits > 5:
        result = xp.where(a < _constant(-(1 << (36 - integer_bits)), bits), 0, result)
    return xp.where(a == 0, _one(bits), result)


def _rounding_half_sum_with_one(a, bits: int):
    """RoundingHalfSum(a, One): ``(a + One + sign) / 2``, truncating."""
    xp = array_namespace(a)
    total = xp.asarray(a, dtype=xp.int64) + _one(bits)
    return xp.where(total >= 0, 1, -1) * ((xp.abs(total) + 1) >> 1)


def _newton_reciprocal(half_denominator, bits: int):
    """1 / half_denominator as a FixedPoint<2>, by three Newton-Raphson steps from
    48/17 - 32/17 * d (gemmlowp's division in one_over_one_plus_x and tanh)."""
    def mul(u, v):
        return saturating_rounding_doubling_high_mul(u, v, bits)

    f2_one = 1 << (bits - 3)
    x = _constant(1515870810, bits) + mul(half_denominator, _constant(-1010580540, bits))
    for _ in range(3):
        one_minus_half_denominator_times_x = f2_one - mul(half_denominator, x)
        x = x + saturating_left_shift(mul(x, one_minus_half_denominator_times_x), 2, bits)
    return x


def one_over_one_plus_x_for_x_in_0_1(a: np.ndarray, bits: int = 32) -> np.ndarray:
    """gemmlowp one_over_one_plus_x_for_x_in_0_1: 1 / (1 + a) for a FixedPoint<0> a in [0, 1),
    as a FixedPoint<0>."""
    x = _newton_reciprocal(_rounding_half_sum_with_one(a, bits), bits)
    return saturating_left_shift(x, 1, bits)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: np.ndarray, bits: int = 32) -> np.ndarray:
    """gemmlowp one_minus_x_over_one_plus_x_for_x_in_0_1: (1 - a) / (1 + a) for a
    FixedPoint<0> a in [0, 1), as a FixedPoint<0>."""
    x = _newton_reciprocal(_rounding_half_sum_with_one(a, bits), bits)
    return saturating_left_shift(x - (1 << (bits - 3)), 2, bits)


def logistic(a: np.ndarray, integer_bits: int, bits: int = 32) -> np.ndarray:
    """gemmlowp logistic: 1 / (1 + exp(-a)) of a FixedPoint<I>, as a FixedPoint<0>."""
    xp = array_namespace(a)
    a = xp.asarray(a, dtype=xp.int64)
    positive = a > 0
    magnitude = xp.where(positive, a, _negate(a, bits))
    if_positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(_negate(magnitude, bits), integer_bits, bits), bits)
    result = xp.where(positive, if_positive, _one(bits) - if_positive)
    return xp.where(a == 0, _constant(1 << 30, bits), result)


def tanh(a: np.ndarray, integer_bits: int, bits: int = 32) -> np.ndarray:
    """gemmlowp tanh of a FixedPoint<I>, as a FixedPoint<0>: (1 - e) / (1 + e) with
    e = exp(-2|a|)."""
    xp = array_namespace(a)
    a = xp.asarray(a, dtype=xp.int64)
    negative = a < 0
    non_positive = xp.where(negative, a, _negate(a, bits))
    # ExactMulByPot<1>: the same raw value read with one more integer bit
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(non_positive, integer_bits + 1, bits), bits)
    return xp.where(a == 0, 0, xp.where(negative, -t, t))


def count_leading_zeros32(x: np.ndarray) -> np.ndarray:
    """CountLeadingZeros of non-negative int32 values: 32 minus their bit length, the number
    of powers of two 2**0 .. 2**30 at or below them (exact, unlike a float log2)."""
    xp = array_namespace(x)
    x = xp.asarray(x, dtype=xp.int64)
    bit_length = sum((x >= (1 << k)).astype(xp.int64) for k in range(31))
    return 32 - bit_length


def calculate_input_radius(integer_bits: int, left_shift: int, total_signed_bits: int = 31):
    """CalculateInputRadius (quantization_util.cc): the largest input difference whose
    rescaled value still fits the fixed-point format. ``left_shift`` is that of a multiplier
    above 1 (``1LL << left_shift`` in TFLite), never negative: callers refuse smaller
    multipliers first, as LiteRT aborts on them (PreprocessSoftmaxScaling)."""
    radius = ((1 << integer_bits) - 1) * (1 << (total_signed_bits - integer_bits)) \
        / (1 << left_shift)
    return int(math.floor(radius))


def inv_sqrt_multiplier(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GetInvSqrtQuantizedMultiplierExp (common.h) with reverse_shift -1, elementwise:
    1 / sqrt(x) as a Q31 multiplier and a (right-shift-negated) exponent, by five
    Newton-Raphson steps in FixedPoint<3> on x normalized to [2**27, 2**29); x <= 1 gives
    (INT32_MAX, 0)."""
    mul = saturating_rounding_doubling_high_mul
    x = np.asarray(x, np.int64)
    small = x <= 1
    x = np.where(small, 2, x)
    shift = np.full(x.shape, 11, np.int64)
    while np.any(x >= 1 << 29):
        big = x >= 1 << 29
        x = np.where(big, x // 4, x)
        shift += big
    pairs = (count_leading_zeros32(x) - 1) // 2 - 1
    shift -= pairs
    x = x << (2 * pairs)
    half_input = rounding_divide_by_pot(x >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    root = np.full(x.shape, 1 << 28, np.int64)  # F3 one
    for _ in range(5):
        cube = saturating_left_shift(mul(mul(root, root), root), 6)  # F9 -> F3
        root = saturating_left_shift(mul(half_three, root) - mul(half_input, cube), 3)  # F6->F3
    root = mul(root, 1518500250)  # * sqrt(2) / 2
    negative = shift < 0
    root = np.where(negative, wrap_int32(root << np.where(negative, -shift, 0)), root)
    shift = np.where(negative, 0, shift)
    return np.where(small, INT32_MAX, root), np.where(small, 0, -shift)
