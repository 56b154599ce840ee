"""Elementwise binary ops with NumPy broadcasting (TFLite broadcasts up to 6-D).

Every op here is one NumPy function over two broadcast inputs, so each definition is a small
`BinaryOp` subclass naming its function, its options table and its version bumps. The ops take
float32 and, as TFLite does, int32 (and int64 where TFLite has a kernel for it); the output has
the inputs' dtype.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..arrays import array_namespace, for_arrays
from ..fixedpoint import multiply_by_quantized_multiplier
from ..graph import Graph, Op
from .activations import FUSABLE
from .common import fold_channels
from .options import Activation, Bool, Options
from .quant_rules import Shared
from .quantized import (activation_range, multiplier_below_one, output_info, requantize,
                        rescale_multiplier, scale_zero)
from .registry import OpDef, register_op, traceable


class BinaryOp(OpDef):
    """An elementwise op over two broadcast inputs, computed by ``fn``.

    ``int64_version``: the version that int64 inputs need (None: not versioned by dtype).
    ``broadcast_6d_version``: the version needed when the inputs' shapes differ and one has
    rank > 4 (op_version.cc: NeedBroadcastForBinaryInputs && GetInputMaxDims > 4), which
    selects the 6-D broadcasting kernels.
    """

    fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
    int64_version: int | None = None
    broadcast_6d_version: int | None = None

    def run_float(self, attrs, x, y):
        folded = fold_channels(x, y)
        result = self.fn(x, y) if folded is None else self.fn(*folded[:2]).reshape(folded[2])
        return clamp_to_finite(result) if self.clamps else result

    @property
    def clamps(self) -> bool:
        """Whether the op has a fused activation: TFLite then clamps to the activation range
        even for NONE, whose range is [lowest, max], so a float overflow gives +-FLT_MAX, not
        inf (NaN stays NaN)."""
        return self.options is not None and "fused_activation_function" in self.options.fields

    def run_jax(self, attrs, x, y):
        """``fn_jax``, clamped as run_float clamps: run_float's channel folding is a NumPy fast
        path, and DIV's check for a zero divisor cannot run in a compiled function."""
        result = self.fn_jax(x, y)
        if self.clamps and is_floating(result):
            info = np.finfo(result.dtype)
            result = result.clip(info.min, info.max)
        return result

    def fn_jax(self, x, y):
        """``fn`` on jax arrays (`for_arrays`)."""
        return for_arrays(self.fn, x, y)(x, y)

    def shape(self, attrs, x, y):
        return [np.broadcast_shapes(x.shape, y.shape)]

    def version(self, op: Op, graph: Graph) -> int:
        # op_version.cc checks the dtype before the broadcast rank.
        x, y = (graph.tensors[name] for name in op.inputs[:2])
        if self.int64_version is not None and x.dtype == np.int64:
            return self.int64_version
        if (self.broadcast_6d_version is not None and x.shape != y.shape
                and max(len(x.shape), len(y.shape)) > 4):
            return self.broadcast_6d_version
        if x.dtype == np.int8:
            return 2  # int8 kernels (uint8 ones are version 1)
        return 1


def clamp_to_finite(x: np.ndarray) -> np.ndarray:
    """x clipped to its float dtype's finite range, in place where x is an array (a result
    the op just made); integers are returned as they are."""
    if not np.issubdtype(x.dtype, np.floating):
        return x
    info = np.finfo(x.dtype)
    in_place = isinstance(x, np.ndarray) and x.flags.writeable
    return np.clip(x, info.min, info.max, out=x if in_place else None)


def is_floating(x) -> bool:
    return np.issubdtype(x.dtype, np.floating)


def divide(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """DIV: true division for floats; integer division truncates toward zero, as C++ ``/``
    does in TFLite's int32 kernel, which also refuses a zero divisor ("Division by 0")."""
    if not np.issubdtype(x.dtype, np.integer):
        return np.divide(x, y)
    if np.any(y == 0):
        raise ValueError("integer division by zero")
    quotient = np.floor_divide(x, y)
    # floor and truncation differ where the quotient is negative and inexact.
    return quotient + ((np.remainder(x, y) != 0) & ((x < 0) != (y < 0))).astype(quotient.dtype)


def squared_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SQUARED_DIFFERENCE: ``d * d`` with ``d = x - y`` (reference_ops: difference squared).
    NumPy or jax arrays, as the two below."""
    d = x - y
    return d * d


def maximum(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MAXIMUM: TFLite's MaximumOp is ``el1 > el2 ? el1 : el2`` (a NaN in x yields y)."""
    return array_namespace(x, y).where(x > y, x, y)


def minimum(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MINIMUM: TFLite's MinimumOp is ``el1 < el2 ? el1 : el2`` (a NaN in x yields y)."""
    return array_namespace(x, y).where(x < y, x, y)


def add_sub_kernel(op: Op, graph: Graph, sign: int):
    """reference_integer_ops::Add (and Sub, ``sign`` -1) with add.cc's Prepare: both inputs
    are centered, shifted left by 20 bits and rescaled to a common scale 2 * max(s1, s2)
    (multipliers s_i / (2 max)); their sum (difference) is rescaled by
    2 max / (2**20 * s_out), offset by the output zero point and clamped. Every multiplier
    must be below 1 (QuantizeMultiplierSmallerThanOneExp: ADD aborts LiteRT on an output
    multiplier of 1 or more, SUB shifts by a negative amount, undefined in C++)."""
    (s1, z1), (s2, z2), (s_out, z_out) = (scale_zero(op, graph, name)
                                          for name in (*op.inputs[:2], op.outputs[0]))
    left_shift = 20
    twice_max = np.float64(2 * max(s1, s2))  # float32 in TFLite, exact (a doubling)
    m1, shift1 = multiplier_below_one(op, graph, float(s1) / twice_max, "first input")
    m2, shift2 = multiplier_below_one(op, graph, float(s2) / twice_max, "second input")
    m_out, shift_out = multiplier_below_one(
        op, graph, twice_max / float(np.float32(1 << left_shift) * s_out), "output")
    low, high = activation_range(op, graph)
    dtype = graph.tensors[op.outputs[0]].dtype

    def kernel(inputs):
        a = multiply_by_quantized_multiplier((inputs[0].astype(np.int64) - z1) << left_shift,
                                             m1, shift1)
        b = multiply_by_quantized_multiplier((inputs[1].astype(np.int64) - z2) << left_shift,
                                             m2, shift2)
        return [requantize(a + sign * b, m_out, shift_out, z_out, low, high, dtype)]

    return traceable(kernel)


def mul_kernel(op: Op, graph: Graph):
    """reference_integer_ops::Mul (mul.cc Prepare): the product of the centered inputs,
    rescaled by s1 * s2 / s_out (multiplied and divided in float32), offset, clamped."""
    (s1, z1), (s2, z2), (s_out, z_out) = (scale_zero(op, graph, name)
                                          for name in (*op.inputs[:2], op.outputs[0]))
    multiplier, shift = rescale_multiplier(op, graph, float(s1 * s2 / s_out))
    low, high = activation_range(op, graph)
    dtype = graph.tensors[op.outputs[0]].dtype

    def kernel(inputs):
        product = (inputs[0].astype(np.int64) - z1) * (inputs[1].astype(np.int64) - z2)
        return [requantize(product, multiplier, shift, z_out, low, high, dtype)]

    return traceable(kernel)


@register_op("ADD")
class Add(BinaryOp):
    options = Options("AddOptions", fused_activation_function=Activation, pot_scale_int16=Bool)
    fusable_activations = FUSABLE
    fn = staticmethod(np.add)
    int64_version = 4

    def prepare_integer(self, op, graph):
        return add_sub_kernel(op, graph, 1)


@register_op("SUB")
class Sub(BinaryOp):
    options = Options("SubOptions", fused_activation_function=Activation, pot_scale_int16=Bool)
    fn = staticmethod(np.subtract)
    int64_version = 4
    broadcast_6d_version = 3

    def prepare_integer(self, op, graph):
        return add_sub_kernel(op, graph, -1)


@register_op("MUL")
class Mul(BinaryOp):
    options = Options("MulOptions", fused_activation_function=Activation)
    fusable_activations = FUSABLE
    fn = staticmethod(np.multiply)
    int64_version = 5

    def prepare_integer(self, op, graph):
        return mul_kernel(op, graph)


@register_op("DIV")
class Div(BinaryOp):
    options = Options("DivOptions", fused_activation_function=Activation)
    fn = staticmethod(divide)
    broadcast_6d_version = 2

    def fn_jax(self, x, y):
        # lax.div truncates integers toward zero, as C++ does; a zero divisor cannot raise
        # inside a compiled function, so only the NumPy kernel refuses it.
        import jax.numpy as jnp
        from jax import lax

        return x / y if is_floating(x) else lax.div(*jnp.broadcast_arrays(x, y))


@register_op("SQUARED_DIFFERENCE")
class SquaredDifference(BinaryOp):
    options = Options("SquaredDifferenceOptions")
    fn = staticmethod(squared_difference)

    def prepare_integer(self, op, graph):
        """SQUARED_DIFFERENCE int8 (squared_difference.cc Prepare and SquaredDifference): both
        centered inputs shifted left by 7 and rescaled to ``2 * max(s1, s2)`` (multipliers
        ``s_i / (2 max)``, double), their difference squared, rescaled by
        ``(2 max)**2 / (2**14 * s_out)``, plus zp_out, clamped. Every multiplier must be below
        1 (QuantizeMultiplierSmallerThanOneExp aborts LiteRT otherwise)."""
        (s1, z1), (s2, z2), (s_out, z_out) = (scale_zero(op, graph, name)
                                              for name in (*op.inputs[:2], op.outputs[0]))
        twice_max = 2 * float(max(s1, s2))
        m1, shift1 = multiplier_below_one(op, graph, float(s1) / twice_max, "first input")
        m2, shift2 = multiplier_below_one(op, graph, float(s2) / twice_max, "second input")
        m_out, shift_out = multiplier_below_one(
            op, graph, twice_max * twice_max / ((1 << 14) * float(s_out)), "output")
        info = output_info(op, graph)

        def kernel(inputs):
            a = multiply_by_quantized_multiplier((inputs[0].astype(np.int64) - z1) << 7, m1,
                                                 shift1)
            b = multiply_by_quantized_multiplier((inputs[1].astype(np.int64) - z2) << 7, m2,
                                                 shift2)
            diff = a - b
            return [requantize(diff * diff, m_out, shift_out, z_out, info.min, info.max,
                               info.dtype)]

        return traceable(kernel)


class Select(BinaryOp):
    """MAXIMUM and MINIMUM: each output element is one of the inputs', so on integers sharing
    the output's grid the float kernel is exact."""

    quant = Shared()
    options = Options("MaximumMinimumOptions")
    broadcast_6d_version = 3


@register_op("MAXIMUM")
class Maximum(Select):
    fn = staticmethod(maximum)


@register_op("MINIMUM")
class Minimum(Select):
    fn = staticmethod(minimum)
