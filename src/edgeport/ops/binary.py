"""Elementwise binary ops with NumPy broadcasting (TFLite broadcasts up to 6-D).

Every op here is one NumPy function over two broadcast inputs, so each definition is a small
`BinaryOp` subclass naming its function, its options table and its version bumps. The ops take
float32 and, as TFLite does, int32 (and int64 where TFLite has a kernel for it); the output has
the inputs' dtype.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..graph import Graph, Op
from .options import Activation, Bool, Options
from .registry import OpDef, register_op


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
        result = self.fn(x, y)
        if self.options is not None and "fused_activation_function" in self.options.fields:
            # TFLite clamps to the activation range even for NONE, whose range is
            # [lowest, max]: a float overflow gives +-FLT_MAX, not inf (NaN stays NaN).
            result = clamp_to_finite(result)
        return result

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
        return 1


def clamp_to_finite(x: np.ndarray) -> np.ndarray:
    """x clipped to its float dtype's finite range; integers are returned as they are."""
    if not np.issubdtype(x.dtype, np.floating):
        return x
    info = np.finfo(x.dtype)
    return np.clip(x, info.min, info.max)


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
    """SQUARED_DIFFERENCE: ``d * d`` with ``d = x - y`` (reference_ops: difference squared)."""
    return np.square(np.subtract(x, y))


def maximum(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MAXIMUM: TFLite's MaximumOp is ``el1 > el2 ? el1 : el2`` (a NaN in x yields y)."""
    return np.where(x > y, x, y)


def minimum(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """MINIMUM: TFLite's MinimumOp is ``el1 < el2 ? el1 : el2`` (a NaN in x yields y)."""
    return np.where(x < y, x, y)


@register_op("ADD")
class Add(BinaryOp):
    options = Options("AddOptions", fused_activation_function=Activation, pot_scale_int16=Bool)
    fn = staticmethod(np.add)
    int64_version = 4


@register_op("SUB")
class Sub(BinaryOp):
    options = Options("SubOptions", fused_activation_function=Activation, pot_scale_int16=Bool)
    fn = staticmethod(np.subtract)
    int64_version = 4
    broadcast_6d_version = 3


@register_op("MUL")
class Mul(BinaryOp):
    options = Options("MulOptions", fused_activation_function=Activation)
    fn = staticmethod(np.multiply)
    int64_version = 5


@register_op("DIV")
class Div(BinaryOp):
    options = Options("DivOptions", fused_activation_function=Activation)
    fn = staticmethod(divide)
    broadcast_6d_version = 2


@register_op("SQUARED_DIFFERENCE")
class SquaredDifference(BinaryOp):
    options = Options("SquaredDifferenceOptions")
    fn = staticmethod(squared_difference)


@register_op("MAXIMUM")
class Maximum(BinaryOp):
    options = Options("MaximumMinimumOptions")
    fn = staticmethod(maximum)
    broadcast_6d_version = 3


@register_op("MINIMUM")
class Minimum(BinaryOp):
    options = Options("MaximumMinimumOptions")
    fn = staticmethod(minimum)
    broadcast_6d_version = 3
