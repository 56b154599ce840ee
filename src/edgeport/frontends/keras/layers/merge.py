"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate."""

from __future__ import annotations

from . import keras_layer

CHAINS = {"Add": "ADD", "Multiply": "MUL", "Maximum": "MAXIMUM", "Minimum": "MINIMUM",
          "Average": "ADD"}


@keras_layer(*CHAINS)
def chain(b, cfg, inputs):
    """A left fold of the binary op over the inputs (Average: the sum times 1/n)."""
    out = inputs[0]
    for other in inputs[1:]:
        out = b.op(CHAINS[b.class_name], [out, other])
    if b.class_name == "Average":
        out = b.op("MUL", [out, b.const(1.0 / len(inputs))])
    return out


@keras_layer("Subtract")
def subtract(b, cfg, inputs):
    return b.op("SUB", inputs)


@keras_layer("Concatenate")
def concatenate(b, cfg, inputs):
    rank = b.rank(inputs[0])
    return b.op("CONCATENATION", inputs, {"axis": int(cfg.get("axis", -1)) % rank})
