"""CAST, and what of QUANTIZE / DEQUANTIZE reaches the TF.js exporter.

TF.js computes in float32, so the exporter first turns a quantized graph into the float32
graph it approximates (passes.dequantize_graph); the QUANTIZE / DEQUANTIZE ops left after that
are float32 -> float32 identities or float16 -> float32 casts.
"""

from __future__ import annotations

import numpy as np

from ....errors import UnsupportedOpError
from ..emitter import a_type, base, out


def cast(em, op):
    em.set(out(op), em.node("Cast", [em.ref(op.inputs[0])], base(op), {
        "SrcT": a_type(em.spec(op.inputs[0]).dtype), "DstT": a_type(em.spec(out(op)).dtype)},
        dtype=None))


def dequantize(em, op):
    """What passes.dequantize_graph (run first) leaves of them: a float32 -> float32 one from
    a graph input or output straight to a graph output, an Identity; a DEQUANTIZE of a float16
    activation (weights are folded before), a Cast."""
    source = em.spec(op.inputs[0]).dtype
    if source == np.float32:
        em.set(out(op), em.node("Identity", [em.ref(op.inputs[0])], base(op)))
    elif source == np.float16 and op.type == "DEQUANTIZE":
        cast(em, op)
    else:
        raise UnsupportedOpError(f"{op.label}: {source} activations without quantization "
                                 "parameters have no TF.js form; export the float model")


RULES = {"CAST": cast, "QUANTIZE": dequantize, "DEQUANTIZE": dequantize}
