"""Small graph-editing helpers the passes share."""

from __future__ import annotations

from ..graph import Graph, Op


def single_consumer(graph: Graph, tensor: str, consumers: dict[str, list[Op]]) -> Op | None:
    """The one op reading ``tensor``, if exactly one does and it is not a graph output."""
    users = consumers.get(tensor, [])
    if len(users) != 1 or tensor in graph.outputs:
        return None
    return users[0]


def bypass(graph: Graph, op: Op, keep: str) -> None:
    """Remove single-output ``op`` whose output equals its input ``keep``: readers of the
    output read ``keep`` instead. A graph output keeps its tensor name: ``keep``'s producer
    writes it directly when that is safe (an op output read by nothing else); otherwise the op
    stays."""
    out = op.outputs[0]
    if out in graph.outputs:
        producer = graph.producers().get(keep)
        others = [o for o in graph.consumers().get(keep, []) if o is not op]
        if producer is None or others or keep in graph.outputs:
            return
        producer.outputs[producer.outputs.index(keep)] = out
        graph.ops.remove(op)
        return
    for user in graph.ops:
        user.inputs = [keep if name == out else name for name in user.inputs]
    graph.ops.remove(op)


def merge_into(graph: Graph, first: Op, second: Op) -> None:
    """``second`` (the only reader of ``first``'s output) has been absorbed into ``first``:
    ``first`` now writes ``second``'s output and ``second`` goes."""
    first.outputs[0] = second.outputs[0]
    graph.ops.remove(second)


def prune_tensors(graph: Graph) -> None:
    """Drop tensors no op, input or output refers to."""
    used = set(graph.inputs) | set(graph.outputs)
    used.update(s for sig in graph.signatures for s in (*sig.inputs.values(),
                                                        *sig.outputs.values()))
    for op in graph.ops:
        used.update(n for n in (*op.inputs, *op.outputs, *op.intermediates) if n is not None)
    for name in [n for n in graph.tensors if n not in used]:
        del graph.tensors[name]
