"""Constant folding."""

from __future__ import annotations

from ..graph import Graph
from ..ops import get_op

# Ops that expand weights stored compressed (float16 or int8 behind DEQUANTIZE, sparse behind
# DENSIFY): the runtime expands them once at load, and folding them would only grow the file.
DECOMPRESSING_OPS = frozenset({"DEQUANTIZE", "DENSIFY"})


def fold_constants(graph: Graph, decompress: bool = False) -> Graph:
    """Replace every op whose inputs are all constant by constants holding its outputs
    (computed with edgeport's reference kernels). Ops with a graph output stay, so that the
    model keeps an op producing each output, and so do DECOMPRESSING_OPS, so that compressed
    weights stay compressed. Guarantees: outputs unchanged, the file does not grow.

    ``decompress=True`` folds the DECOMPRESSING_OPS of constants too: float16 or int8 weights
    behind DEQUANTIZE and sparse ones behind DENSIFY become the float32 (or dense) constants
    the runtime would expand them to, for a rewrite that needs the real values (quantizing,
    dequantizing for TF.js). The file then grows by what the compression saved."""
    for op in list(graph.ops):
        if (op.is_custom or op.type in DECOMPRESSING_OPS and not decompress
                or any(n in graph.outputs for n in op.outputs)):
            continue
        tensors = [graph.tensors[n] if n is not None else None for n in op.inputs]
        if not tensors or any(t is not None and not t.is_constant for t in tensors):
            continue
        kernel = get_op(op.type).prepare(op, graph)
        values = kernel([t.data if t is not None else None for t in tensors])
        for name, value in zip(op.outputs, values):
            tensor = graph.tensors[name]
            tensor.data = value.astype(tensor.dtype, copy=False)
            tensor.shape = tuple(value.shape)
        graph.ops.remove(op)
    return graph
