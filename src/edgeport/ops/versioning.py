"""The dtype tests that the weighted ops' versions turn on (op_version.cc: full-integer,
hybrid, per-channel), shared by the convolutions and the matrix products.
"""

from __future__ import annotations

import numpy as np

from ..graph import Graph, Op


def dtype_of(graph: Graph, name: str | None):
    """The dtype of tensor ``name`` in ``graph`` (None for an absent optional input)."""
    return None if name is None else graph.tensors[name].dtype


def is_hybrid(op: Op, graph: Graph) -> bool:
    """Float activations with int8 weights (TFLite's "hybrid" kernels, versioned apart)."""
    return (dtype_of(graph, op.inputs[0]) == np.float32
            and dtype_of(graph, op.inputs[1]) == np.int8)


def all_of(op: Op, graph: Graph, dtype) -> bool:
    """Input, weights and output all of ``dtype`` (np.int8: the full-integer kernels)."""
    return all(dtype_of(graph, name) == dtype
               for name in (op.inputs[0], op.inputs[1], op.outputs[0]))


def per_channel(graph: Graph, name: str) -> bool:
    """Whether tensor ``name`` is quantized per axis (per output channel for weights)."""
    quant = graph.tensors[name].quant
    return quant is not None and quant.per_axis
