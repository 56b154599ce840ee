"""Elementwise unary math (float32 in, float32 out): LOGISTIC, TANH, ELU, EXP, SIN, LOG, SQRT,
RSQRT, GELU; ZEROS_LIKE (any dtype); and `UnaryOp`, which the RELU family (relu.py) and HARD_SWISH (hard_swish.py) build on.

Most ops here are one function of their input, so each is a small `UnaryOp` subclass naming
it; the functions mirror TFLite's float reference kernels
(tensorflow/lite/kernels/internal/reference/*.h), including their cutoffs and operation order.
8-bit LOGISTIC and TANH are LUTPopulate tables (`quantized.float_lookup_kernel`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..arrays import array_namespace, for_arrays
from .options import Bool, Options
from .quant_rules import Fixed, Unquantized
from .quantized import float_lookup_kernel
from .registry import OpDef, register_op


class UnaryOp(OpDef):
    """An elementwise op computed by ``fn``; the output has the input's shape and dtype.
    ``fn`` is a NumPy ufunc (on jax arrays, jax.numpy's function of the same name) or a
    function of NumPy and jax arrays alike, so one kernel serves both backends."""

    fn: Callable[[np.ndarray], np.ndarray]

    def run_float(self, attrs, x):
        return for_arrays(self.fn, x)(x)

    def shape(self, attrs, x):
        return [x.shape]


# reference_ops::Logistic's cutoffs: 1 above the upper one (where 1 / (1 + exp(-x)) rounds
# to 1 in float32), and exp(x), the sigmoid's leading term, below -9.
LOGISTIC_UPPER_CUTOFF = np.float32(16.619047164916992188)
LOGISTIC_LOWER_CUTOFF = np.float32(-9.0)


def logistic(x):
    """LOGISTIC as reference_ops::Logistic computes it, cutoffs included (NumPy or jax)."""
    xp, one = array_namespace(x), x.dtype.type(1)
    y = xp.where(x > LOGISTIC_UPPER_CUTOFF, one, one / (one + xp.exp(-x)))
    return xp.where(x < LOGISTIC_LOWER_CUTOFF, xp.exp(x), y)


def elu(x):
    """ELU (alpha 1): ``expm1(x)`` for x < 0, else x (NumPy or jax arrays)."""
    xp = array_namespace(x)
    return xp.where(x < 0, xp.expm1(xp.minimum(x, x.dtype.type(0))), x)


def rsqrt(x):
    """RSQRT: ``1 / sqrt(x)`` (two roundings, as the reference kernel; NumPy or jax)."""
    return x.dtype.type(1) / array_namespace(x).sqrt(x)


# Numerical Recipes' erfcc: a Chebyshev fit of erfc with fractional error below 1.2e-7
# everywhere, including the far tail, which GELU reaches for large negative inputs.
_ERFC_COEFFS = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
                0.09678418, 0.37409196, 1.00002368, -1.26551223)


def erfc(x: np.ndarray) -> np.ndarray:
    """The complementary error function, computed in float64, returned in x's dtype."""
    z = np.abs(x.astype(np.float64))
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.zeros_like(t)
    for coeff in _ERFC_COEFFS:  # Horner's rule
        poly = poly * t + coeff
    tail = t * np.exp(-z * z + poly)
    return np.where(x >= 0, tail, 2.0 - tail).astype(x.dtype)


# GELU's constants as float32, as reference_ops::Gelu (gelu_internal) uses them.
_SQRT_HALF = np.float32(np.sqrt(0.5))
_SQRT_2_OVER_PI = np.float32(np.sqrt(2 / np.pi))


def gelu(x: np.ndarray, approximate: bool) -> np.ndarray:
    """GELU: exact ``0.5 x erfc(-x / sqrt 2)``, or the tanh approximation
    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    half = x.dtype.type(0.5)
    if approximate:
        inner = _SQRT_2_OVER_PI * (x + x.dtype.type(0.044715) * x * x * x)
        return half * x * (x.dtype.type(1) + np.tanh(inner))
    return half * x * erfc(x * -_SQRT_HALF)


@register_op("LOGISTIC")
class Logistic(UnaryOp):
    fn = staticmethod(logistic)
    quant = Fixed(1 / 256, -128)

    def prepare_integer(self, op, graph):
        # activations.cc: 8-bit LOGISTIC is a LUTPopulate table of 1 / (1 + exp(-x)).
        one = np.float32(1)

        def sigmoid(x):
            with np.errstate(over="ignore"):  # a huge input scale: exp(-x) = inf gives 0
                return one / (one + np.exp(-x))

        return float_lookup_kernel(sigmoid, op, graph)


@register_op("TANH")
class Tanh(UnaryOp):
    fn = staticmethod(np.tanh)
    quant = Fixed(1 / 128, 0)

    def prepare_integer(self, op, graph):
        # activations.cc: 8-bit TANH is a LUTPopulate table of tanh(x).
        return float_lookup_kernel(np.tanh, op, graph)


@register_op("ELU")
class Elu(UnaryOp):
    fn = staticmethod(elu)


@register_op("EXP")
class Exp(UnaryOp):
    options = Options("ExpOptions")
    fn = staticmethod(np.exp)


@register_op("SIN")
class Sin(UnaryOp):
    """Sine, elementwise (std::sin); no builtin options."""

    fn = staticmethod(np.sin)


@register_op("LOG")
class Log(UnaryOp):
    """Natural logarithm: -inf at 0, NaN below (as std::log); what softplus is built from."""

    fn = staticmethod(np.log)


@register_op("SQRT")
class Sqrt(UnaryOp):
    fn = staticmethod(np.sqrt)


@register_op("RSQRT")
class Rsqrt(UnaryOp):
    fn = staticmethod(rsqrt)


@register_op("GELU")
class Gelu(UnaryOp):
    options = Options("GeluOptions", approximate=Bool)

    def run_float(self, attrs, x):
        return gelu(x, attrs["approximate"])

    def run_jax(self, attrs, x):
        # The tanh formula as in gelu(); the exact form with jax's erf, where gelu() computes
        # a fit of erfc (within 1.2e-7) in float64 NumPy.
        import jax

        return jax.nn.gelu(x, approximate=attrs["approximate"])


def zeros_like(x):
    return array_namespace(x).zeros_like(x)


@register_op("ZEROS_LIKE")
class ZerosLike(UnaryOp):
    """Zeros of the input's shape and dtype: what a converter starts a recurrent state from,
    sized by the batch at run time."""

    options = Options("ZerosLikeOptions")
    quant = Unquantized()  # LiteRT's ZEROS_LIKE has no 8-bit kernel
    fn = staticmethod(zeros_like)
