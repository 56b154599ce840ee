"""TF.js's form of TFLite's activations: the fused_activation_function mapping every rule
applies through `activate`, and the rules of the activation ops themselves.

The activations themselves are edgeport.ops.activations.FUSED_ACTIVATIONS; their TF.js form
lives here and only here (`ACTIVATION_OPS`, `FUSABLE`, `activate`): tfjs
fuses Relu and Relu6 into _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul (its
fused_ops); every other activation becomes nodes after the op.
"""

from __future__ import annotations

import numpy as np

from ....errors import UnsupportedOpError
from ....ops.activations import FUSED_ACTIVATIONS
from ..emitter import Emitter, a_float, base, out

# TFLite fused_activation_function -> the TF op applying it (NONE: nothing; RELU_N1_TO_1: a
# ClipByValue, see `activate`)
ACTIVATION_OPS = {"RELU": "Relu", "RELU6": "Relu6", "TANH": "Tanh"}
# those tfjs can fuse into a convolution's or matmul's fused_ops
FUSABLE = ("RELU", "RELU6")


def activate(em: Emitter, ref: str, activation: str | None, name: str) -> str:
    """Apply a TFLite fused activation (one of edgeport.ops.activations.FUSED_ACTIVATIONS) as
    separate TF nodes (named ``<name>/<activation>``)."""
    activation = activation or "NONE"
    if activation == "NONE":
        return ref
    if activation in ACTIVATION_OPS:
        return em.node(ACTIVATION_OPS[activation], [ref], f"{name}/{activation.lower()}")
    if activation == "RELU_N1_TO_1":
        return clip(em, ref, *FUSED_ACTIVATIONS[activation].bounds, name)
    raise UnsupportedOpError(f"{name}: fused activation {activation} has no TF.js mapping")


def clip(em: Emitter, ref: str, lo: float, hi: float, name: str) -> str:
    """ClipByValue(ref, lo, hi), its bounds as float32 Consts."""
    return em.node("ClipByValue", [ref, em.const(np.float32(lo), f"{name}/min"),
                                   em.const(np.float32(hi), f"{name}/max")], f"{name}/clip")


_UNARY = {"RELU": "Relu", "RELU6": "Relu6", "LOGISTIC": "Sigmoid", "TANH": "Tanh", "ELU": "Elu",
          "EXP": "Exp", "SIN": "Sin", "LOG": "Log", "SQRT": "Sqrt", "RSQRT": "Rsqrt",
          "LOG_SOFTMAX": "LogSoftmax"}


def unary(em, op):
    em.set(out(op), em.node(_UNARY[op.type], [em.ref(op.inputs[0])], base(op)))


def relu_n1_to_1(em, op):
    em.set(out(op), clip(em, em.ref(op.inputs[0]), -1.0, 1.0, base(op)))


def leaky_relu(em, op):
    em.set(out(op), em.node("LeakyRelu", [em.ref(op.inputs[0])], base(op),
                            {"alpha": a_float(op.attrs.get("alpha", 0.2))}))


def prelu(em, op):
    em.set(out(op), em.node("Prelu", [em.ref(op.inputs[0]), em.ref(op.inputs[1])], base(op)))


def hard_swish(em, op):
    """x * relu6(x + 3) / 6, as TFLite's reference HardSwish."""
    name, x = base(op), em.ref(op.inputs[0])
    shifted = em.node("AddV2", [x, em.const(np.float32(3), f"{name}/three")], f"{name}/add")
    gate = em.node("Relu6", [shifted], f"{name}/relu6")
    scaled = em.node("Mul", [gate, em.const(np.float32(1 / 6), f"{name}/sixth")], f"{name}/div")
    em.set(out(op), em.node("Mul", [x, scaled], name))


def gelu(em, op):
    """0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation when ``approximate``."""
    name, x = base(op), em.ref(op.inputs[0])
    c = lambda v, n: em.const(np.float32(v), f"{name}/{n}")  # noqa: E731
    if op.attrs.get("approximate"):
        cube = em.node("Mul", [em.node("Square", [x], f"{name}/sq"), x], f"{name}/cube")
        inner = em.node("AddV2", [x, em.node("Mul", [cube, c(0.044715, "k")], f"{name}/kc")],
                        f"{name}/inner")
        gate = em.node("Tanh", [em.node("Mul", [inner, c(np.sqrt(2 / np.pi), "s")],
                                        f"{name}/scaled")], f"{name}/tanh")
    else:
        gate = em.node("Erf", [em.node("Mul", [x, c(1 / np.sqrt(2), "s")], f"{name}/scaled")],
                       f"{name}/erf")
    half = em.node("Mul", [x, c(0.5, "half")], f"{name}/half_x")
    one = em.node("AddV2", [gate, c(1.0, "one")], f"{name}/one_plus")
    em.set(out(op), em.node("Mul", [half, one], name))


def softmax(em, op):
    name, x = base(op), em.ref(op.inputs[0])
    beta = float(op.attrs.get("beta", 1.0))
    if beta != 1.0:
        x = em.node("Mul", [x, em.const(np.float32(beta), f"{name}/beta")], f"{name}/scaled")
    em.set(out(op), em.node("Softmax", [x], name))


RULES = {**dict.fromkeys(_UNARY, unary), "RELU_N1_TO_1": relu_n1_to_1,
         "LEAKY_RELU": leaky_relu, "PRELU": prelu, "HARD_SWISH": hard_swish, "GELU": gelu,
         "SOFTMAX": softmax}
