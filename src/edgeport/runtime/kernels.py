"""Binding kernels: the prepared kernel of every op of a graph, for an executor to run.

Builtin ops get their definition's ``prepare`` (edgeport.ops); custom ops the NumPy function
registered for them (edgeport.lite.register_custom_op).
"""

from __future__ import annotations

from typing import Callable, Mapping

from ..errors import UnsupportedOpError
from ..graph import Graph, Op
from ..ops import get_op, missing_ops
from ..ops.registry import Kernel

CustomOp = Callable[[list, bytes], object]


def bind_kernels(graph: Graph, custom_ops: Mapping[str, CustomOp] = (),
                 source: str = "model") -> dict[int, Kernel]:
    """A kernel for every op of ``graph`` (by ``id(op)``), or UnsupportedOpError listing every
    op type edgeport cannot run."""
    missing = missing_ops(graph.op_types(), custom_ops)
    if missing:
        raise UnsupportedOpError(
            f"{source}: edgeport has no kernel for {', '.join(missing)}"
            + ("; register custom ops with edgeport.lite.register_custom_op(name, fn)"
               if any(m.startswith("CUSTOM:") for m in missing) else ""))
    kernels = {}
    for g in graph.all_graphs():
        for op in g.ops:
            if op.is_custom:
                kernels[id(op)] = _custom_kernel(custom_ops[op.type[len("CUSTOM:"):]], op)
            else:
                kernels[id(op)] = get_op(op.type).prepare(op, g)
    return kernels


def _custom_kernel(fn: CustomOp, op: Op) -> Kernel:
    options = op.attrs.get("custom_options", b"")

    def run(inputs):
        result = fn(list(inputs), options)
        return list(result) if isinstance(result, (list, tuple)) else [result]

    return run
