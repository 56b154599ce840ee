"""Identity removal and dead-code removal."""

from __future__ import annotations

import numpy as np

from ..graph import Graph
from .rewrite import bypass, prune_tensors


def remove_identities(graph: Graph) -> Graph:
    """Remove ops that return their input unchanged: RESHAPE to the same shape, TRANSPOSE by
    the identity permutation, ADD of zeros, MUL by ones (when the constant does not broadcast
    the input to a larger shape), CONCATENATION of one input. Guarantees: outputs unchanged;
    graph output tensor names unchanged."""
    for op in list(graph.ops):
        if _is_identity(graph, op):
            bypass(graph, op, op.inputs[0])
    return graph


def _is_identity(graph: Graph, op) -> bool:
    if len(op.outputs) != 1 or op.attrs.get("fused_activation_function", "NONE") != "NONE":
        return False
    x = graph.tensors.get(op.inputs[0]) if op.inputs and op.inputs[0] else None
    out = graph.tensors[op.outputs[0]]
    if x is None or x.is_constant or x.dtype != out.dtype:
        return False
    second = graph.tensors.get(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] else None
    if op.type == "RESHAPE":
        return x.shape == out.shape and x.shape.count(-1) <= 1
    if op.type == "TRANSPOSE" and second is not None and second.is_constant:
        return list(second.data.reshape(-1)) == list(range(len(x.shape)))
    if op.type in ("ADD", "MUL") and second is not None and second.is_constant:
        neutral = 0.0 if op.type == "ADD" else 1.0
        return (np.all(second.data == neutral) and second.data.ndim <= len(x.shape)
                and x.shape == out.shape)
    if op.type == "CONCATENATION":
        return len(op.inputs) == 1
    return False


def remove_dead_code(graph: Graph) -> Graph:
    """Remove every op no graph output depends on, then every tensor nothing refers to.
    Guarantees: outputs unchanged; op order otherwise kept."""
    producer = graph.producers()
    live, stack = set(), list(graph.outputs)
    while stack:
        name = stack.pop()
        op = producer.get(name)
        if op is None or id(op) in live:
            continue
        live.add(id(op))
        stack.extend(n for n in op.inputs if n is not None)
    graph.ops = [op for op in graph.ops if id(op) in live]
    prune_tensors(graph)
    return graph
