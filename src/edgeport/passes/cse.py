"""Common-subexpression elimination."""

from __future__ import annotations

from ..graph import Graph

# Ops whose result is not a function of their inputs and options alone.
STATEFUL = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE", "IF",
                      "WHILE", "CALL", "RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL",
                      "MULTINOMIAL"})


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """Merge ops of the same type, options and input tensors into the first of them: its
    readers read the first op's outputs (NASNet applies the same ReLU and pooling to one
    tensor in several branches; the official converter merges them too). An op writing a
    graph output is kept. Guarantees: outputs unchanged; op order otherwise kept."""
    seen: dict[tuple, list[str]] = {}
    renamed: dict[str, str] = {}
    kept = []
    for op in graph.ops:
        op.inputs = [renamed.get(n, n) if n is not None else None for n in op.inputs]
        if op.is_custom or op.type in STATEFUL or not op.outputs:
            kept.append(op)
            continue
        key = (op.type, tuple(op.inputs),
               tuple(sorted((k, repr(v)) for k, v in op.attrs.items())))
        first = seen.get(key)
        if first is None or any(n in graph.outputs for n in op.outputs):
            seen.setdefault(key, op.outputs)
            kept.append(op)
            continue
        renamed.update(zip(op.outputs, first))
    graph.ops = kept
    return graph
