"""TFLite's fused activations (ActivationFunctionType), in one table: each one's function,
written once for NumPy and jax arrays (`array_namespace`), and the real bounds of its
quantized form.

An op whose options carry ``fused_activation_function`` applies it to its float result (`OpDef.run`
on NumPy, `run_jax_op` in the jax backend). On a quantized output an activation is no function
but a clamp to its bounds (CalculateActivationRangeQuantized, `quantized.activation_range`); one
without bounds (TANH, SIGN_BIT) has no integer form, so the quantizer leaves its op float. The
RELU, RELU6 and RELU_N1_TO_1 ops compute these same functions (relu.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..arrays import array_namespace, numpy_out
from ..errors import UnsupportedOpError


def identity(x, out=None):
    return x


def relu(x, out=None):
    """``max(x, 0)`` (a -0 input stays -0, a NaN stays NaN, as std::max(x, 0.f))."""
    return array_namespace(x).maximum(x, x.dtype.type(0), **numpy_out(x, out))


def relu6(x, out=None):
    """``min(max(x, 0), 6)``."""
    return array_namespace(x).clip(x, 0, 6, **numpy_out(x, out, fresh=True))


def relu_n1_to_1(x, out=None):
    """``min(max(x, -1), 1)``."""
    return array_namespace(x).clip(x, -1, 1, **numpy_out(x, out, fresh=True))


def tanh(x, out=None):
    return array_namespace(x).tanh(x, **numpy_out(x, out))


def sign_bit(x, out=None):
    """1 where the sign bit of x is set (-0 included), else 0, in x's dtype."""
    return array_namespace(x).signbit(x).astype(x.dtype)


@dataclass(frozen=True)
class FusedActivation:
    """One fused activation: ``apply(x, out=None)`` computes it on NumPy or jax arrays (a NumPy
    result written into ``out`` where given); ``bounds`` are the real (low, high) its quantized
    form clamps to (None on a side: the type's own limit), or None where it has no integer
    form. ``fusable``: an op of this name (relu.py) after an op that takes fused activations
    becomes that op's ``fused_activation_function`` (passes.fusion)."""

    name: str
    apply: Callable
    bounds: tuple[float | None, float | None] | None = None
    fusable: bool = False


FUSED_ACTIVATIONS: dict[str, FusedActivation] = {a.name: a for a in (
    FusedActivation("NONE", identity, (None, None)),
    FusedActivation("RELU", relu, (0.0, None), fusable=True),
    FusedActivation("RELU6", relu6, (0.0, 6.0), fusable=True),
    FusedActivation("RELU_N1_TO_1", relu_n1_to_1, (-1.0, 1.0), fusable=True),
    FusedActivation("TANH", tanh),
    FusedActivation("SIGN_BIT", sign_bit),
)}

# The fused activations an int8 op can carry: those with bounds.
INTEGER_ACTIVATIONS = frozenset(name for name, activation in FUSED_ACTIVATIONS.items()
                                if activation.bounds is not None)
# The activations that fusion folds into the op before them (`OpDef.fusable_activations`).
FUSABLE = frozenset(name for name, activation in FUSED_ACTIVATIONS.items() if activation.fusable)


def apply_activation(x, name: str, op_name: str = "", in_place: bool = False):
    """The fused activation ``name`` applied to a float result (NumPy or jax); with
    ``in_place`` a NumPy ``x`` is overwritten."""
    activation = FUSED_ACTIVATIONS.get(name)
    if activation is None:
        raise UnsupportedOpError(f"{op_name}: unknown fused activation {name!r}")
    return activation.apply(x, x if in_place else None)
