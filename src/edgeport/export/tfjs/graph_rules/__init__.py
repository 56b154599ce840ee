"""The TFLite -> TensorFlow op table of the graph-model exporter: one rule per IR op type.

A rule ``rule(em, op)`` reads an IR `Op` and emits TF nodes through an `emitter.Emitter`,
naming them from `emitter.base` (the op's origin), and maps each op output to the TF output
holding it (``em.set``). The attrs written are those tfjs-converter's op_list declares without
a default (strides, padding, dilations, ksize...). Each module holds the rules of one op family
and ends with its own ``RULES``; `RULES` here is their union, the one table the exporter reads.
TFLite's fused activations are mapped in one place, `activations`.
"""

from __future__ import annotations

from . import activations, arithmetic, casts, conv, shape

_FAMILIES = (conv, arithmetic, activations, shape, casts)

RULES: dict = {}
for _family in _FAMILIES:
    _twice = RULES.keys() & _family.RULES.keys()
    if _twice:  # a programming error: one op type, two rules
        raise RuntimeError(f"TF.js rules for {sorted(_twice)} defined twice")
    RULES.update(_family.RULES)

__all__ = ["RULES"]
