"""Input dimensions left open besides the batch (a sequence's length): which tensors follow them.

A frontend builds the graph with each open dimension set to a probe length (`PROBE`). Shape
inference then runs again at twice that length: every dimension of every tensor, in the main
graph and in the subgraphs it calls, that changes with it is open (-1) in the .tflite, so that
LiteRT and edgeport resize it with ``resize_tensor_input``. A conversion that baked the probe
length into the graph (a Flatten of the steps) shows up as a shape that does not follow, and
is refused naming the op. The probes are powers of two so that strided layers (pooling,
strided convolutions) divide them exactly.
"""

from __future__ import annotations

from ..errors import GraphError, ModelFormatError, UnsupportedLayerError
from ..graph import Graph, concrete_shape
from ..shapes import (OPEN_LENGTH as PROBE, called_subgraphs, infer_model_specs,
                      subgraph_operands)


def open_dimensions(graph: Graph, open_inputs: dict[str, tuple[int, ...]], batched: set[str],
                    source: str) -> None:
    """Mark -1, in ``graph`` and its subgraphs, every dimension that follows the open
    dimensions ``open_inputs`` ({input: axes}) of a graph built at `PROBE`; ``batched``: the
    tensors whose dim 0 is the batch, which must not follow."""
    if not open_inputs:
        return
    probes = []
    for length in (PROBE, 2 * PROBE):
        shapes = {name: _probe_shape(graph, name, open_inputs.get(name, ()), length)
                  for name in graph.inputs}
        try:
            probes.append(_all_shapes(graph, graph, shapes))
        except (GraphError, ModelFormatError, ValueError, ArithmeticError) as exc:
            raise UnsupportedLayerError(f"{source}: the model does not convert for a sequence "
                                        f"length of {length} ({exc}); give the Input a fixed "
                                        "length") from exc
    short, long = probes
    for key, shape in short.items():
        other = long[key]
        g, name = key
        tensor = g.tensors[name]
        if len(shape) != len(other):
            raise _baked(source, g, name)
        if g is graph and name in batched and shape[:1] != other[:1]:
            raise _baked(source, g, name)
        tensor.shape = tuple(-1 if a != b or d < 0 else d
                             for a, b, d in zip(shape, other, tensor.shape))


def _probe_shape(graph: Graph, name: str, axes, length: int) -> tuple[int, ...]:
    shape = list(concrete_shape(graph.tensors[name].shape))
    for axis in axes:
        shape[axis] = length
    return tuple(shape)


def _all_shapes(root: Graph, graph: Graph, input_shapes
                ) -> dict[tuple[Graph, str], tuple[int, ...]]:
    """(graph, tensor) -> shape, in ``graph`` (of the model ``root``) and in the subgraphs
    its ops call."""
    specs = infer_model_specs(graph, input_shapes, root)
    shapes = {(graph, name): spec.shape for name, spec in specs.items()}
    for op in graph.ops:
        for body in called_subgraphs(root, op):
            operands = subgraph_operands(op, body, op.inputs)
            shapes.update(_all_shapes(root, body, {n: specs[o].shape
                                                   for n, o in zip(body.inputs, operands)}))
    return shapes


def _baked(source: str, graph: Graph, name: str) -> UnsupportedLayerError:
    producer = graph.producers().get(name)
    where = producer.label if producer is not None else repr(name)
    return UnsupportedLayerError(f"{source}: {where} does not follow the open sequence length "
                                 "(its conversion depends on the length); give the Input a "
                                 "fixed length")
