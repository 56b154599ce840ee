"""Shape inference and constant folding over a `Graph`.

`infer_specs` walks the ops in order and gives every tensor a `TensorSpec`. An op whose inputs
are all known values is run for real (constant folding: float16/int8 weights behind DEQUANTIZE,
SHAPE -> STRIDED_SLICE -> RESHAPE chains); an op with a shape rule uses it; any other op is run
on zero-filled placeholders of its input shapes, which is exact for every op whose output shape
does not depend on its data values.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .errors import EdgeportError, GraphError
from .graph import Graph, Op, concrete_shape
from .ops import TensorSpec, get_op, missing_ops
from .ops.registry import Kernel

def initial_specs(graph: Graph, input_shapes: Mapping[str, Sequence[int]] | None = None
                  ) -> dict[str, TensorSpec]:
    """Specs of the constants, graph inputs and variable tensors (a recurrent op's state),
    before any op has run."""
    input_shapes = input_shapes or {}
    specs = {}
    for name, tensor in graph.tensors.items():
        if tensor.data is not None and tensor.sparsity is None:
            specs[name] = TensorSpec(tuple(tensor.data.shape), tensor.dtype, tensor.data,
                                     tensor.quant)
        elif (name in input_shapes or tensor.sparsity is not None or name in graph.inputs
              or tensor.is_variable):
            shape = tuple(input_shapes.get(name, concrete_shape(tensor.shape)))
            specs[name] = TensorSpec(shape, tensor.dtype, None, tensor.quant)
    return specs


def infer_specs(graph: Graph, kernels: Mapping[int, Kernel],
                input_shapes: Mapping[str, Sequence[int]] | None = None,
                source: str = "model") -> dict[str, TensorSpec]:
    """Every tensor's spec for the given input shapes; values where they are computable."""
    specs = initial_specs(graph, input_shapes)
    with np.errstate(all="ignore"):
        for op in graph.topological_order():
            for name, spec in zip(op.outputs, _infer_op(graph, op, specs, kernels, source)):
                specs[name] = spec
    return specs


def output_specs(op: Op, definition, inputs: Sequence[TensorSpec | None], kernel: Kernel,
                 known: Sequence | None = None) -> tuple[list[TensorSpec], str]:
    """The output specs of ``op`` (whose OpDef is ``definition``) from its input specs, and
    how they were found. The one rule of shape inference, for a loaded graph (`infer_specs`)
    and for a graph that a frontend is building (frontends.builder):
    - "computed": every input value is known (``known``, by default the specs' values), and
      ``kernel`` runs on them: the outputs' real values (constant folding);
    - "value": the definition's ``value`` knows them (SHAPE of a tensor: from its shape);
    - "shape": the definition's ``shape`` rule; the outputs take its ``data_input``'s dtype;
    - "placeholder": ``kernel`` runs on zero-filled inputs of the input shapes, exact for
      every op whose output shape does not depend on its data values (values not kept)."""
    if known is None:
        known = [None if s is None else s.value for s in inputs]
    if all(s is None or v is not None for s, v in zip(inputs, known)):
        return [TensorSpec(tuple(v.shape), v.dtype, v) for v in kernel(known)], "computed"
    if (values := definition.value(op.attrs, *inputs)) is not None:
        return [TensorSpec(tuple(v.shape), v.dtype, v) for v in values], "value"
    if (shapes := definition.shape(op.attrs, *inputs)) is not None:
        dtype = inputs[definition.data_input].dtype
        return [TensorSpec(tuple(shape), dtype) for shape in shapes], "shape"
    placeholders = [None if s is None else s.value if s.value is not None
                    else np.zeros(s.shape, s.dtype) for s in inputs]
    return [TensorSpec(tuple(v.shape), v.dtype) for v in kernel(placeholders)], "placeholder"


def _infer_op(graph: Graph, op: Op, specs, kernels, source) -> list[TensorSpec]:
    inputs = [specs[name] if name is not None else None for name in op.inputs]
    declared = [graph.tensors[name] for name in op.outputs]
    if id(op) not in kernels:  # a custom op being validated without its kernel
        return [TensorSpec(concrete_shape(t.shape), t.dtype, None, t.quant) for t in declared]
    definition = _NO_RULES if op.is_custom else get_op(op.type)
    try:
        known = [_constant_value(graph, name, spec) for name, spec in zip(op.inputs, inputs)]
        results, how = output_specs(op, definition, inputs, kernels[id(op)], known)
    except EdgeportError:
        raise
    except Exception as exc:  # a kernel rejecting the shapes it was given
        shapes = ", ".join(str(list(s.shape)) if s is not None else "-" for s in inputs)
        raise GraphError(f"{source}: op {op.label} cannot take inputs of shapes {shapes}: "
                         f"{exc}") from exc
    if len(results) < len(op.outputs):
        raise GraphError(f"{source}: op {op.label} computes {len(results)} outputs, it "
                         f"declares {len(op.outputs)}")
    # A shape rule knows no quantized dtype: a quantized output keeps its declared one.
    return [TensorSpec(r.shape, t.dtype if how == "shape" and t.quant is not None else r.dtype,
                       r.value, t.quant) for r, t in zip(results, declared)]


class _NoRules:
    """The shape rules of an op without a definition (a custom op): none."""

    data_input = 0

    def value(self, attrs, *inputs):
        return None

    def shape(self, attrs, *inputs):
        return None


_NO_RULES = _NoRules()


def _constant_value(graph: Graph, name: str | None, spec: TensorSpec | None):
    """A known input value: the spec's, or a sparse constant's stored values (only DENSIFY
    reads those; its dense output then folds at load like any other constant)."""
    if name is None:
        return None
    tensor = graph.tensors[name]
    if tensor.sparsity is not None and tensor.data is not None:
        return tensor.data
    return spec.value


def subgraph_output_specs(root: Graph, op: Op, inputs: Sequence[TensorSpec]
                          ) -> list[TensorSpec]:
    """The output specs of ``op``, which runs subgraphs of ``root`` (IF), from its input
    specs: those of the subgraph it runs, by shape inference through it (the first one it
    names: LiteRT needs an IF's branches to agree)."""
    body = called_subgraphs(root, op)[0]
    shapes = {name: spec.shape for name, spec in zip(body.inputs, subgraph_operands(op, body,
                                                                                  inputs))}
    specs = infer_model_specs(body, shapes, root)
    return [TensorSpec(specs[name].shape, specs[name].dtype, None, specs[name].quant)
            for name in body.outputs]


def called_subgraphs(root: Graph, op: Op) -> list[Graph]:
    """The subgraphs of ``root`` that ``op`` runs (none for most ops), GraphError for an
    index the model does not have."""
    definition = None if op.is_custom else get_op(op.type)
    indices = [op.attrs[field] for field in getattr(definition, "subgraph_fields", ())]
    graphs = root.all_graphs()
    if not all(0 < i < len(graphs) for i in indices):
        raise GraphError(f"graph {root.name!r}: op {op.label} runs subgraph(s) {indices}, "
                         f"the model has {len(graphs) - 1}")
    return [graphs[i] for i in indices]


def subgraph_operands(op: Op, body: Graph, values: Sequence):
    """Of ``values`` (one per input of ``op``), those ``body``'s inputs take: the last ones
    (IF's first input is its condition)."""
    return list(values)[len(op.inputs) - len(body.inputs):]


def validate(graph: Graph) -> Graph:
    """``graph`` checked whole: its structure (Graph.validate), and in every subgraph that
    each op is known and produces the shapes and dtypes its output tensors declare
    (`check_shapes`), which runs every op's prepare (an integer kernel's may refuse its
    quantization parameters). GraphError naming the op and tensor otherwise."""
    graph.validate()
    for g in graph.all_graphs():
        check_shapes(g, graph)
    return graph


def check_shapes(graph: Graph, root: Graph | None = None) -> None:
    """Raise GraphError where an op's inferred output shape or dtype differs from the
    declared output tensor (dynamic -1 dims match anything). Custom ops keep their declared
    output specs; an op that runs subgraphs of ``root`` (the model ``graph`` is part of) has
    theirs."""
    missing = [t for t in missing_ops(graph.op_types()) if not t.startswith("CUSTOM:")]
    if missing:
        raise GraphError(f"graph {graph.name!r} uses unknown op types: {', '.join(missing)}")
    specs = infer_model_specs(graph, _checking_shapes(graph), root)
    for op in graph.ops:
        if op.is_custom:
            continue
        for name in op.outputs:
            declared, inferred = graph.tensors[name], specs[name]
            if not _shapes_agree(declared.shape, inferred.shape):
                raise GraphError(f"graph {graph.name!r}: op {op.label} produces shape "
                                 f"{list(inferred.shape)} but tensor {name!r} is declared "
                                 f"{list(declared.shape)}")
            if declared.quant is None and inferred.dtype != declared.dtype:
                raise GraphError(f"graph {graph.name!r}: op {op.label} produces dtype "
                                 f"{inferred.dtype} but tensor {name!r} is declared "
                                 f"{declared.dtype}")


def infer_model_specs(graph: Graph, input_shapes: Mapping[str, Sequence[int]] | None = None,
                      root: Graph | None = None) -> dict[str, TensorSpec]:
    """`infer_specs` of a model's ``graph`` (part of ``root``, by default itself) with no
    executor: its own kernels, and for an op that runs subgraphs, the specs its subgraph
    infers (`subgraph_output_specs`). Custom ops keep their declared specs."""
    root = root or graph
    kernels = {id(op): _checking_kernel(op, graph, root)
               for op in graph.ops if not op.is_custom}
    return infer_specs(graph, kernels, input_shapes, source=f"graph {graph.name!r}")


# The length an open dimension besides the batch (a sequence's) is checked at, and built at
# by the frontends (frontends/open_dims.py): 1, as TFLite allocates it by default, can be too
# short for the model (a pooled sequence).
OPEN_LENGTH = 64


def _checking_shapes(graph: Graph) -> dict[str, tuple[int, ...]]:
    """The input shapes a graph is checked at: batch 1, open lengths `OPEN_LENGTH`."""
    return {name: tuple(1 if i == 0 and d < 0 else OPEN_LENGTH if d < 0 else d
                        for i, d in enumerate(graph.tensors[name].shape))
            for name in graph.inputs}


def _checking_kernel(op: Op, graph: Graph, root: Graph) -> Kernel:
    """The kernel shape checking runs for ``op``: its own, or for an op that runs subgraphs,
    one giving zeros of the specs its subgraph infers (each branch is checked as a graph)."""
    definition = get_op(op.type)
    if not definition.subgraph_fields:
        return definition.prepare(op, graph)

    def kernel(inputs):
        specs = [TensorSpec(np.shape(x), np.asarray(x).dtype) for x in inputs]
        return [np.zeros(s.shape, s.dtype) for s in subgraph_output_specs(root, op, specs)]

    return kernel


def _shapes_agree(declared, inferred) -> bool:
    return len(declared) == len(inferred) and all(
        d < 0 or d == i for d, i in zip(declared, inferred))
