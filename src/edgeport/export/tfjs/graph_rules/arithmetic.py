"""Elementwise binary ops, reductions and L2_NORMALIZATION in TF.js form.

TFLite's binary ops broadcast as TF's do, so each is one node; their fused activation (and
L2_NORMALIZATION's) follows as separate nodes. TFLite's reduction axes are an input, as TF's.
"""

from __future__ import annotations

import numpy as np

from ..emitter import a_bool, a_type, base, out
from .activations import activate

_BINARY = {"ADD": "AddV2", "SUB": "Sub", "MUL": "Mul", "DIV": "RealDiv", "MAXIMUM": "Maximum",
           "MINIMUM": "Minimum", "SQUARED_DIFFERENCE": "SquaredDifference"}


def binary(em, op):
    name = base(op)
    ref = em.node(_BINARY[op.type], [em.ref(op.inputs[0]), em.ref(op.inputs[1])], name,
                  dtype=em.spec(out(op)).dtype)
    em.set(out(op), activate(em, ref, op.attrs.get("fused_activation_function"), name))


def l2_normalization(em, op):
    """x / max(||x||, 1e-6) over the last axis (reference_ops::L2Normalization)."""
    name, x = base(op), em.ref(op.inputs[0])
    total = em.node("Sum", [em.node("Square", [x], f"{name}/sq"),
                            em.const(np.array([-1], np.int32), f"{name}/axis")], f"{name}/sum",
                    {"keep_dims": a_bool(True), "Tidx": a_type(np.int32)})
    norm = em.node("Maximum", [em.node("Sqrt", [total], f"{name}/norm"),
                               em.const(np.float32(1e-6), f"{name}/eps")], f"{name}/clamped")
    ref = em.node("RealDiv", [x, norm], name)
    em.set(out(op), activate(em, ref, op.attrs.get("fused_activation_function"), name))


_REDUCE = {"MEAN": "Mean", "SUM": "Sum", "REDUCE_MAX": "Max"}


def reduce(em, op):
    em.set(out(op), em.node(_REDUCE[op.type], [em.ref(op.inputs[0]), em.ref(op.inputs[1])],
                            base(op), {"keep_dims": a_bool(op.attrs.get("keep_dims")),
                                       "Tidx": a_type(np.int32)},
                            dtype=em.spec(out(op)).dtype))


def arg_max(em, op):
    em.set(out(op), em.node("ArgMax", [em.ref(op.inputs[0]), em.ref(op.inputs[1])],
                            base(op), {"output_type": a_type(np.int32)}))


RULES = {**dict.fromkeys(_BINARY, binary), "L2_NORMALIZATION": l2_normalization,
         **dict.fromkeys(_REDUCE, reduce), "ARG_MAX": arg_max}
