"""Dequantization: a quantized graph as the float32 graph it approximates, for runtimes that
have no integer kernels (TF.js).

Full-integer models (int8/int16 activations, QUANTIZE/DEQUANTIZE at the edges, int8 or uint8
inputs and outputs), weight-only ones (int8 weights behind DEQUANTIZE or read by hybrid ops) and
float16-weight ones all become a graph whose every tensor is float32 and holds the real value
``scale * (q - zero_point)`` that the integers stood for.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..graph import Graph, Tensor
from ..ops.affine import dequantize
from .constant_folding import fold_constants
from .rewrite import bypass

F32 = np.dtype(np.float32)
# Ops whose integer kernel works on the stored integers themselves, not on the real values
# they stand for: once the tensors hold real values, no float op computes what they did.
STORED_INTEGER_OPS = frozenset({"CAST"})


def is_quantized(tensor: Tensor) -> bool:
    """Whether ``tensor`` holds integers standing for real values (it has quantization
    parameters): int8/uint8/int16 activations and weights, int32/int64 biases."""
    return tensor.quant is not None and tensor.dtype.kind in "iu"


def dequantize_graph(graph: Graph) -> Graph:
    """Turn ``graph`` into the float32 graph its quantized form approximates.

    Compressed weights are expanded first (fold_constants with ``decompress``); then every quantized
    constant holds ``scale * (q - zero_point)`` in float32 (per tensor or per axis), every
    quantized activation, graph input and output becomes float32, and QUANTIZE / DEQUANTIZE,
    now float32 -> float32, are removed (`_remove_conversion`). Hybrid ops become float ops
    reading dequantized weights.

    Guarantees: no tensor is quantized any more; graph input and output names unchanged; no
    QUANTIZE / DEQUANTIZE is left but one from a graph input or output straight to a graph
    output (an identity, which only an exporter can use); every op computes in float32 what
    its integer kernel approximates, so the outputs differ from the integer model's by its
    rounding and by its saturation at the ends of each tensor's quantized range (the float
    graph does not clamp there). Raises UnsupportedOpError for an op that works on stored
    integers (STORED_INTEGER_OPS, e.g. CAST of a quantized tensor)."""
    fold_constants(graph, decompress=True)
    _refuse_stored_integer_ops(graph)
    for tensor in graph.tensors.values():
        if is_quantized(tensor):
            _to_real(tensor)
    for op in list(graph.ops):
        if op.type in ("QUANTIZE", "DEQUANTIZE") and _float_to_float(graph, op):
            _remove_conversion(graph, op)
    return graph


def _refuse_stored_integer_ops(graph: Graph) -> None:
    for op in graph.ops:
        names = [n for n in (*op.inputs, *op.outputs) if n is not None]
        if op.type in STORED_INTEGER_OPS and any(is_quantized(graph.tensors[n]) for n in names):
            raise UnsupportedOpError(f"{op.label}: {op.type} of a quantized tensor works on its "
                                     "stored integers, which a float graph does not have; "
                                     "export the float model")


def _to_real(tensor: Tensor) -> None:
    """``tensor`` as the float32 real values it stood for, with no quantization parameters."""
    if tensor.is_constant:
        tensor.data = dequantize(tensor.data, tensor.quant)
    tensor.dtype, tensor.quant = F32, None


def _remove_conversion(graph: Graph, op) -> None:
    """Remove float32 -> float32 ``op``: its readers read its input instead or, where its
    output is a graph output, the input takes the output's name (its producer writes it, its
    other readers read it). Only an op from a graph input or output to a graph output stays,
    as no tensor can take both names."""
    source, out = op.inputs[0], op.outputs[0]
    if out not in graph.outputs:
        bypass(graph, op, source)
        return
    producer = graph.producers().get(source)
    if producer is None or source in graph.outputs:
        return
    graph.ops.remove(op)
    for other in graph.ops:
        other.inputs = [out if name == source else name for name in other.inputs]
    producer.outputs = [out if name == source else name for name in producer.outputs]
    del graph.tensors[source]


def _float_to_float(graph: Graph, op) -> bool:
    return graph.tensors[op.inputs[0]].dtype == graph.tensors[op.outputs[0]].dtype == F32
