"""Keras activations (by name, as in ``Dense(activation=...)``) and the activation layers.

Each activation is spelled with the TFLite ops the official converter uses, so that the fusion
pass can fold RELU/RELU6 into the producing op: swish = x * LOGISTIC(x), hard_sigmoid =
RELU6(x + 3) / 6 (Keras 3's definition), selu = scale * PRELU(ELU(x), alpha); softplus
and softsign, which have no TFLite op, in overflow-free forms from elementwise ops.
"""

from __future__ import annotations

import numpy as np

from . import keras_layer

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def activation_name(spec) -> str:
    """``"relu"``, or Keras 3's serialized form ``{"class_name": "function", "config": "relu"}``."""
    if spec is None:
        return "linear"
    if isinstance(spec, dict):
        spec = spec.get("config", spec.get("class_name"))
        if isinstance(spec, dict):
            spec = spec.get("name", "?")
    return str(spec)


def apply_activation(b, x: str, spec) -> str:
    """Emit the ops of a Keras activation on ``x``; returns the output tensor."""
    name = activation_name(spec)
    simple = {"relu": "RELU", "relu6": "RELU6", "sigmoid": "LOGISTIC", "tanh": "TANH",
              "elu": "ELU", "exponential": "EXP", "hard_swish": "HARD_SWISH",
              "hard_silu": "HARD_SWISH", "log_softmax": "LOG_SOFTMAX"}
    if name == "linear":
        return x
    if name in simple:
        return b.op(simple[name], [x])
    if name == "softmax":
        return b.op("SOFTMAX", [x], {"beta": 1.0})
    if name in ("swish", "silu"):
        return b.op("MUL", [x, b.op("LOGISTIC", [x])])
    if name == "hard_sigmoid":
        shifted = b.op("ADD", [x, b.const(3.0)])
        return b.op("MUL", [b.op("RELU6", [shifted]), b.const(1.0 / 6.0)])
    if name == "gelu":
        return b.op("GELU", [x], {"approximate": False})
    if name == "leaky_relu":
        return b.op("LEAKY_RELU", [x], {"alpha": 0.2})
    if name == "softplus":
        # log(1 + exp(x)) without overflow: max(x, 0) + log(1 + exp(-|x|))
        tail = b.op("EXP", [b.op("MINIMUM", [x, negate(b, x)])])
        log = b.op("LOG", [b.op("ADD", [tail, b.const(1.0)])])
        return b.op("ADD", [b.op("RELU", [x]), log])
    if name == "softsign":
        # x / (1 + |x|), |x| = max(x, -x)
        magnitude = b.op("MAXIMUM", [x, negate(b, x)])
        return b.op("DIV", [x, b.op("ADD", [magnitude, b.const(1.0)])])
    if name == "selu":
        scaled = b.op("PRELU", [b.op("ELU", [x]), b.const([SELU_ALPHA])])
        return b.op("MUL", [scaled, b.const(SELU_SCALE)])
    raise b.unsupported(f"activation {name!r} is not supported")


def negate(b, x: str) -> str:
    return b.op("MUL", [x, b.const(-1.0)])


@keras_layer("Activation")
def activation(b, cfg, inputs):
    return apply_activation(b, inputs[0], cfg.get("activation"))


@keras_layer("ReLU")
def relu(b, cfg, inputs):
    x = inputs[0]
    max_value = cfg.float("max_value", None)
    slope, threshold = cfg.float("negative_slope", 0.0), cfg.float("threshold", 0.0)
    if threshold != 0.0:
        return thresholded_relu(b, x, threshold, max_value, slope)
    if slope != 0.0:
        x = b.op("LEAKY_RELU", [x], {"alpha": slope})
        return x if max_value is None else b.op("MINIMUM", [x, b.const(max_value)])
    if max_value is None:
        return b.op("RELU", [x])
    if max_value == 6.0:
        return b.op("RELU6", [x])
    return b.op("MINIMUM", [b.op("RELU", [x]), b.const(max_value)])


def thresholded_relu(b, x, threshold, max_value, slope) -> str:
    """Keras's ReLU with a threshold t > 0: where(x > t, x, 0), clipped to max_value when set,
    minus slope * relu(t - x). TFLite has no select among our ops, so the step is
    CAST(relu(x - t) -> bool -> float): x > t exactly when x - t > 0 (IEEE subtraction of
    distinct floats never gives 0)."""
    above = b.op("RELU", [b.op("ADD", [x, b.const(-threshold)])])
    flag = b.op("CAST", [above], {"in_data_type": "FLOAT32", "out_data_type": "BOOL"},
                dtype=np.bool_)
    mask = b.op("CAST", [flag], {"in_data_type": "BOOL", "out_data_type": "FLOAT32"})
    out = b.op("MUL", [x, mask])
    if max_value is not None:
        out = b.op("MINIMUM", [out, b.const(max_value)])  # Keras wants t >= 0
    if slope == 0.0:
        return out
    below = b.op("RELU", [b.op("ADD", [negate(b, x), b.const(threshold)])])
    return b.op("SUB", [out, b.op("MUL", [below, b.const(slope)])])


@keras_layer("LeakyReLU")
def leaky_relu(b, cfg, inputs):
    # Keras 3 calls it negative_slope (default 0.3), Keras 2 alpha
    alpha = cfg.float("negative_slope", None)
    alpha = cfg.float("alpha", 0.3) if alpha is None else alpha
    return b.op("LEAKY_RELU", [inputs[0]], {"alpha": alpha})


@keras_layer("ELU")
def elu(b, cfg, inputs):
    alpha = cfg.float("alpha", 1.0)
    out = b.op("ELU", [inputs[0]])
    if alpha == 1.0:
        return out
    # alpha * (exp(x) - 1) below zero: scale only the negative part
    return b.op("PRELU", [out, b.const([alpha])])


@keras_layer("PReLU")
def prelu(b, cfg, inputs):
    x = inputs[0]
    shape = b.shape(x)[1:]
    shared = cfg.axes("shared_axes", len(shape) + 1, [])
    alpha_shape = tuple(1 if i + 1 in shared else d for i, d in enumerate(shape))
    (alpha,) = b.weights(alpha_shape)
    return b.op("PRELU", [x, b.const(alpha)])


@keras_layer("Softmax")
def softmax(b, cfg, inputs):
    x = inputs[0]
    axes = cfg.axes("axis", b.rank(x), -1)
    if axes != [b.rank(x) - 1]:
        raise b.unsupported(f"Softmax over axis {cfg.get('axis')} (only the last axis)")
    return b.op("SOFTMAX", [x], {"beta": 1.0})


