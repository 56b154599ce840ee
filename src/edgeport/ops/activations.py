"""Elementwise activations and unary math (float32 in, float32 out).

Most ops here are one NumPy function of their input, so each is a small `UnaryOp` subclass
naming that function; the functions mirror TFLite's float reference kernels
(tensorflow/lite/kernels/internal/reference/*.h), including their cutoffs and operation order.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..arrays import array_namespace, jax_form
from . import compiled
from .activations_int8 import hard_swish_kernel, leaky_relu_kernel, prelu_kernel, relu_kernel
from .common import fold_channels
from .options import Bool, Float, Options
from .quantized import float_lookup_kernel
from .registry import OpDef, register_op


class UnaryOp(OpDef):
    """An elementwise op computed by ``fn``; the output has the input's shape and dtype.
    ``fn`` is a NumPy ufunc, whose jax kernel is jax.numpy's function of the same name, or a
    function of NumPy and jax arrays alike; ops with other functions override ``run_jax``."""

    fn: Callable[[np.ndarray], np.ndarray]

    def run_float(self, attrs, x):
        return self.fn(x)

    def run_jax(self, attrs, x):
        return jax_form(self.fn)(x)

    def shape(self, attrs, x):
        return [x.shape]


class ReluFamily(UnaryOp):
    """RELU, RELU6, RELU_N1_TO_1: quantized, the input rescaled to the output and clamped to
    the activation's bounds (activations_int8.relu_kernel). RELU and RELU6 are version 2 for
    int8 (op_version.cc); LiteRT registers RELU_N1_TO_1 version 1 only, for every type."""

    int8_version = 2

    def prepare_integer(self, op, graph):
        return relu_kernel(op, graph, self.name)

    def version(self, op, graph):
        return self.int8_version if graph.tensors[op.inputs[0]].dtype == np.int8 else 1


def relu(x):
    return np.maximum(x, x.dtype.type(0))


def relu6(x):
    return np.clip(x, x.dtype.type(0), x.dtype.type(6))


def relu_n1_to_1(x):
    return np.clip(x, x.dtype.type(-1), x.dtype.type(1))


# reference_ops::Logistic's cutoffs: 1 above the upper one (where 1 / (1 + exp(-x)) rounds
# to 1 in float32), and exp(x), the sigmoid's leading term, below -9.
LOGISTIC_UPPER_CUTOFF = np.float32(16.619047164916992188)
LOGISTIC_LOWER_CUTOFF = np.float32(-9.0)


def logistic(x):
    """LOGISTIC as reference_ops::Logistic computes it, cutoffs included."""
    one = x.dtype.type(1)
    y = np.where(x > LOGISTIC_UPPER_CUTOFF, one, one / (one + np.exp(-x)))
    return np.where(x < LOGISTIC_LOWER_CUTOFF, np.exp(x), y)


def hard_swish(x):
    """HARD_SWISH: ``x * relu6(x + 3) / 6``, multiplied before the division as TFLite does
    (in place in one new array)."""
    out = np.add(x, x.dtype.type(3))
    out = np.clip(out, x.dtype.type(0), x.dtype.type(6), out=out if out.ndim else None)
    out *= x
    out /= x.dtype.type(6)
    return out


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


@register_op("RELU")
class Relu(ReluFamily):
    fn = staticmethod(relu)

    def run_jax(self, attrs, x):
        import jax.numpy as jnp

        return jnp.maximum(x, 0)


@register_op("RELU6")
class Relu6(ReluFamily):
    fn = staticmethod(relu6)

    def run_jax(self, attrs, x):
        import jax.numpy as jnp

        return jnp.clip(x, 0, 6)


@register_op("RELU_N1_TO_1")
class ReluN1To1(ReluFamily):
    int8_version = 1
    fn = staticmethod(relu_n1_to_1)

    def run_jax(self, attrs, x):
        import jax.numpy as jnp

        return jnp.clip(x, -1, 1)


@register_op("LOGISTIC")
class Logistic(UnaryOp):
    fn = staticmethod(logistic)

    def prepare_integer(self, op, graph):
        # activations.cc: 8-bit LOGISTIC is a LUTPopulate table of 1 / (1 + exp(-x)).
        one = np.float32(1)

        def sigmoid(x):
            with np.errstate(over="ignore"):  # a huge input scale: exp(-x) = inf gives 0
                return one / (one + np.exp(-x))

        return float_lookup_kernel(sigmoid, op, graph)

    def run_jax(self, attrs, x):
        import jax.numpy as jnp

        # logistic's formula and cutoffs, in jax.numpy
        y = jnp.where(x > LOGISTIC_UPPER_CUTOFF, 1, 1 / (1 + jnp.exp(-x)))
        return jnp.where(x < LOGISTIC_LOWER_CUTOFF, jnp.exp(x), y).astype(x.dtype)


@register_op("TANH")
class Tanh(UnaryOp):
    fn = staticmethod(np.tanh)

    def prepare_integer(self, op, graph):
        # activations.cc: 8-bit TANH is a LUTPopulate table of tanh(x).
        return float_lookup_kernel(np.tanh, op, graph)

    def run_jax(self, attrs, x):
        import jax.numpy as jnp

        return jnp.tanh(x)


@register_op("HARD_SWISH")
class HardSwish(UnaryOp):
    options = Options("HardSwishOptions")
    fn = staticmethod(hard_swish)

    def prepare_integer(self, op, graph):
        return hard_swish_kernel(op, graph)

    def run_jax(self, attrs, x):
        import jax.numpy as jnp

        return x * jnp.clip(x + 3, 0, 6) / 6  # hard_swish's order: multiply, then divide


@register_op("ELU")
class Elu(UnaryOp):
    fn = staticmethod(elu)


@register_op("EXP")
class Exp(UnaryOp):
    options = Options("ExpOptions")
    fn = staticmethod(np.exp)


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


@register_op("LEAKY_RELU")
class LeakyRelu(UnaryOp):
    options = Options("LeakyReluOptions", alpha=Float)

    def run_float(self, attrs, x):
        # reference_ops::LeakyRelu: ``x > 0 ? x : x * alpha``, not max(x, alpha x), since
        # alpha may exceed 1. NumPy or jax arrays.
        return array_namespace(x).where(x > 0, x, x * x.dtype.type(attrs["alpha"]))

    run_jax = run_float

    def prepare_integer(self, op, graph):
        return leaky_relu_kernel(op, graph)

    def version(self, op, graph):
        return 2 if graph.tensors[op.inputs[0]].dtype == np.int16 else 1


@register_op("GELU")
class Gelu(UnaryOp):
    options = Options("GeluOptions", approximate=Bool)

    def run_float(self, attrs, x):
        return gelu(x, attrs["approximate"])

    def run_jax(self, attrs, x):
        import jax

        # The tanh formula as in gelu(); the exact form with jax's erf, where gelu() uses a
        # fit of erfc within 1.2e-7.
        return jax.nn.gelu(x, approximate=attrs["approximate"])


def prelu_shape(x_shape: tuple, alpha_shape: tuple) -> tuple:
    """PRELU's output shape: x's. TFLite refuses an alpha that would enlarge it."""
    if np.broadcast_shapes(x_shape, alpha_shape) != tuple(x_shape):
        raise ValueError(f"alpha of shape {list(alpha_shape)} does not broadcast to the "
                         f"input's shape {list(x_shape)}")
    return tuple(x_shape)


@register_op("PRELU")
class Prelu(OpDef):
    """PRELU: ``x >= 0 ? x : x * alpha`` (BroadcastPrelu4DSlow), with alpha broadcast against
    x: per channel as (1, 1, C) or (C,), or any shape that broadcasts to x's."""

    def run_float(self, attrs, x, alpha):
        prelu_shape(x.shape, alpha.shape)
        out = compiled.prelu(x, alpha)  # numba's one-pass loop (ops/compiled.py)
        if out is not None:
            return out
        # NumPy: x where x >= 0, else alpha * x, which is max(x, alpha * x) where alpha <= 1
        # and min(x, alpha * x) = -max(-x, -alpha * x) where alpha > 1: with sign = +-1 per
        # alpha, sign * max(sign * x, sign * alpha * x), the same values in four passes (two
        # where every alpha is on one side of 1). alpha is spread along whole rows first
        # (ops.common.fold_channels): 4x faster than np.where on mediapipe's 16-channel
        # layers. A zero or infinite alpha would give NaN or lose -0's sign there, so those,
        # and a scalar x, take np.where.
        alpha = alpha.astype(x.dtype, copy=False)
        folded = fold_channels(x, alpha)
        rows, weights = (x, alpha) if folded is None else folded[:2]
        if x.ndim == 0 or not (alpha.size and np.all((alpha != 0) & np.isfinite(alpha))):
            out = np.where(rows >= 0, rows, rows * weights)
        elif alpha.max() <= 1 or alpha.min() > 1:
            out = rows * weights
            (np.maximum if alpha.max() <= 1 else np.minimum)(out, rows, out=out)
        else:
            sign = np.where(weights <= 1, weights.dtype.type(1), weights.dtype.type(-1))
            out = rows * (sign * weights)
            np.maximum(out, rows * sign, out=out)
            out *= sign
        return out.reshape(x.shape)

    def run_jax(self, attrs, x, alpha):
        import jax.numpy as jnp

        prelu_shape(x.shape, alpha.shape)
        return jnp.where(x >= 0, x, x * alpha)

    def shape(self, attrs, x, alpha):
        return [prelu_shape(x.shape, alpha.shape)]

    def prepare_integer(self, op, graph):
        # LiteRT registers PRELU version 1 only, int8 included.
        return prelu_kernel(op, graph)
