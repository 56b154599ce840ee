"""Binding kernels: the prepared kernel of every op of a graph, for an executor to run.

Builtin ops get their definition's ``prepare`` (edgeport.ops); custom ops the NumPy function
registered for them (edgeport.lite.register_custom_op); ops that run subgraphs (IF) their
``prepare_call`` with a ``call(index, inputs) -> outputs``: the interpreter's own (its executor
of that subgraph, on its backend), or `SubgraphCalls` on NumPy.
"""

from __future__ import annotations

from typing import Callable, Mapping

from ..errors import GraphError, UnsupportedOpError
from ..graph import Graph, Op
from ..ops import get_op, missing_ops
from ..ops.registry import Kernel
from .executor import GraphExecutor

CustomOp = Callable[[list, bytes], object]
SubgraphCall = Callable[[int, list], list]


def bind_kernels(graph: Graph, custom_ops: Mapping[str, CustomOp] = (),
                 source: str = "model", call: SubgraphCall | None = None) -> dict[int, Kernel]:
    """A kernel for every op of ``graph`` and its subgraphs (by ``id(op)``), or
    UnsupportedOpError listing every op type edgeport cannot run. ``call`` runs a subgraph
    for the ops that call one (default: `SubgraphCalls` on NumPy)."""
    missing = missing_ops(graph.op_types(), custom_ops)
    if missing:
        raise UnsupportedOpError(
            f"{source}: edgeport has no kernel for {', '.join(missing)}"
            + ("; register custom ops with edgeport.lite.register_custom_op(name, fn)"
               if any(m.startswith("CUSTOM:") for m in missing) else ""))
    kernels: dict[int, Kernel] = {}
    if call is None:
        call = SubgraphCalls(graph, kernels, source)
    for g in graph.all_graphs():
        for op in g.ops:
            if op.is_custom:
                kernels[id(op)] = _custom_kernel(custom_ops[op.type[len("CUSTOM:"):]], op)
                continue
            definition = get_op(op.type)
            kernels[id(op)] = (definition.prepare_call(op, call) if definition.subgraph_fields
                               else definition.prepare(op, g))
    return kernels


class SubgraphCalls:
    """Runs the subgraphs of ``graph`` on NumPy, one executor each (made on first call):
    ``calls(index, inputs)`` returns the outputs of subgraph ``index`` on ``inputs``."""

    def __init__(self, graph: Graph, kernels: Mapping[int, Kernel], source: str = "model"):
        self.graphs, self.kernels, self.source = graph.all_graphs(), kernels, source
        self.executors: dict = {}

    def __call__(self, index: int, inputs: list) -> list:
        if index not in self.executors:
            if not 0 < index < len(self.graphs):
                raise GraphError(f"{self.source}: no subgraph {index} to call")
            self.executors[index] = GraphExecutor(self.graphs[index], self.kernels,
                                                  self.source)
        return run_subgraph(self.executors[index], inputs)


def run_subgraph(executor: GraphExecutor, inputs: list) -> list:
    """The outputs of ``executor``'s graph on ``inputs``, positional (a subgraph call)."""
    graph = executor.graph
    if len(inputs) != len(graph.inputs):
        raise GraphError(f"{executor.source}: subgraph {graph.name!r} takes "
                         f"{len(graph.inputs)} inputs, the call gives {len(inputs)}")
    outputs = executor.run(dict(zip(graph.inputs, inputs)))
    return [outputs[name] for name in graph.outputs]


def _custom_kernel(fn: CustomOp, op: Op) -> Kernel:
    options = op.attrs.get("custom_options", b"")

    def run(inputs):
        result = fn(list(inputs), options)
        return list(result) if isinstance(result, (list, tuple)) else [result]

    return run
