"""Shape inference and constant folding over a `Graph`.

`infer_specs` walks the ops in order and gives every tensor a `TensorSpec`. An op whose inputs
are all known values is run for real (constant folding: float16/int8 weights behind DEQUANTIZE,
SHAPE -> STRIDED_SLICE -> RESHAPE chains); an op with a shape rule uses it; any other op is run
on zero-filled placeholders of its input shapes, which is exact for every op whose output shape
does not depend on its data values.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np

from .errors import EdgeportError, GraphError, UnsupportedOpError
from .graph import Graph, Op, concrete_shape
from .ops import TensorSpec, get_op, missing_ops

Kernel = Callable[[Sequence[np.ndarray]], list]
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


def initial_specs(graph: Graph, input_shapes: Mapping[str, Sequence[int]] | None = None
                  ) -> dict[str, TensorSpec]:
    """Specs of the constants and graph inputs, before any op has run."""
    input_shapes = input_shapes or {}
    specs = {}
    for name, tensor in graph.tensors.items():
        if tensor.data is not None and tensor.sparsity is None:
            specs[name] = TensorSpec(tuple(tensor.data.shape), tensor.dtype, tensor.data,
                                     tensor.quant)
        elif name in input_shapes or tensor.sparsity is not None or name in graph.inputs:
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


def _infer_op(graph: Graph, op: Op, specs, kernels, source) -> list[TensorSpec]:
    inputs = [specs[name] if name is not None else None for name in op.inputs]
    declared = [graph.tensors[name] for name in op.outputs]
    if id(op) not in kernels:  # a custom op being validated without its kernel
        return [TensorSpec(concrete_shape(t.shape), t.dtype, None, t.quant) for t in declared]
    try:
        constants = [_constant_value(graph, name, spec) for name, spec in zip(op.inputs, inputs)]
        if all(name is None or value is not None for name, value in zip(op.inputs, constants)):
            return _specs_of(kernels[id(op)](constants), declared, keep_values=True)
        definition = None if op.is_custom else get_op(op.type)
        known = definition.value(op.attrs, *inputs) if definition is not None else None
        if known is not None:
            return _specs_of(known, declared, keep_values=True)
        shapes = definition.shape(op.attrs, *inputs) if definition is not None else None
        if shapes is not None:
            dtype = inputs[definition.data_input].dtype
            return [TensorSpec(tuple(s), t.dtype if t.quant is not None else dtype, None, t.quant)
                    for s, t in zip(shapes, declared)]
        placeholders = [None if s is None else
                        s.value if s.value is not None else np.zeros(s.shape, s.dtype)
                        for s in inputs]
        return _specs_of(kernels[id(op)](placeholders), declared, keep_values=False)
    except EdgeportError:
        raise
    except Exception as exc:  # a kernel rejecting the shapes it was given
        shapes = ", ".join(str(list(s.shape)) if s is not None else "-" for s in inputs)
        raise GraphError(f"{source}: op {op.label} cannot take inputs of shapes {shapes}: "
                         f"{exc}") from exc


def _specs_of(values, declared, keep_values: bool) -> list[TensorSpec]:
    """Specs of computed output arrays; their values kept only where they are the real ones."""
    return [TensorSpec(tuple(v.shape), v.dtype, v if keep_values else None, t.quant)
            for v, t in zip(values, declared)]


def _constant_value(graph: Graph, name: str | None, spec: TensorSpec | None):
    """A known input value: the spec's, or a sparse constant's stored values (only DENSIFY
    reads those; its dense output then folds at load like any other constant)."""
    if name is None:
        return None
    tensor = graph.tensors[name]
    if tensor.sparsity is not None and tensor.data is not None:
        return tensor.data
    return spec.value


def check_shapes(graph: Graph) -> None:
    """Raise GraphError where an op's inferred output shape or dtype differs from the
    declared output tensor (dynamic -1 dims match anything). Custom ops keep their declared
    output specs."""
    missing = [t for t in missing_ops(graph.op_types()) if not t.startswith("CUSTOM:")]
    if missing:
        raise GraphError(f"graph {graph.name!r} uses unknown op types: {', '.join(missing)}")
    kernels = {id(op): get_op(op.type).prepare(op, graph) for op in graph.ops if not op.is_custom}
    specs = infer_specs(graph, kernels, source=f"graph {graph.name!r}")
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


def _shapes_agree(declared, inferred) -> bool:
    return len(declared) == len(inferred) and all(
        d < 0 or d == i for d, i in zip(declared, inferred))
