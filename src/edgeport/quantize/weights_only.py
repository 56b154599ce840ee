"""Weights-only post-training quantization: smaller weights, float arithmetic.

- `quantize_weights` (weights-only int8, the converter's ``Optimize.DEFAULT`` without data):
  the weights of CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV with at least
  1024 elements (the official converter's threshold) become symmetric int8 behind a DEQUANTIZE,
  which LiteRT and edgeport's interpreter run once, at load; the arithmetic stays float.
  The recurrent ops' gate weights (in the subgraphs a recurrent layer becomes) are int8 that
  their hybrid kernels read directly, as the official converter makes them.
- `quantize_float16`: every float32 constant becomes float16 behind a DEQUANTIZE.
Both work in place on a graph from `ptq.prepare_float` and return it.
"""

from __future__ import annotations

import numpy as np

from ..graph import Graph, Op, Tensor
from ..ops import get_op
from . import rules
from .rules import symmetric_weights

F32 = np.dtype(np.float32)
MIN_WEIGHT_ELEMENTS = 1024  # kWeightsMinNumElementsDefault (tools/optimize/quantize_weights.cc)
FLOAT16_MAX = float(np.finfo(np.float16).max)


def denied(op: Op, denylisted_ops, denylisted_nodes) -> bool:
    """Whether ``op`` stays float: its type is denylisted, or the layer it came from."""
    return op.type in denylisted_ops or (op.origin is not None and op.origin in denylisted_nodes)


def _float_constant(graph: Graph, name: str | None) -> bool:
    t = None if name is None else graph.tensors[name]
    return t is not None and t.is_constant and t.dtype == F32


def _insert_dequantize(graph: Graph, name: str, data: np.ndarray, quant, origin) -> Op:
    """Turn constant ``name`` into the output of DEQUANTIZE(stored ``data``)."""
    stored = graph.unique_name(f"{name}_{data.dtype.name}")
    graph.add_tensor(Tensor(stored, data.shape, data.dtype, data, quant=quant))
    tensor = graph.tensors[name]
    tensor.data = None
    return Op("DEQUANTIZE", [stored], [name], {}, origin=origin)


def quantize_weights(graph: Graph, per_channel: bool = True, per_channel_dense: bool = True,
                     min_elements: int = MIN_WEIGHT_ELEMENTS, denylisted_ops=(),
                     denylisted_nodes=()) -> Graph:
    """Weights-only int8: see the module doc. ``per_channel_dense=False`` keeps
    FULLY_CONNECTED per tensor (TFLite Micro); ``per_channel=False`` everything."""
    for g in graph.all_graphs():  # a recurrent layer's op sits in a subgraph
        _quantize_hybrid_weights(g, min_elements, denylisted_ops, denylisted_nodes)
    dequantize = []
    done = set()
    for op in graph.ops:
        index, axis = rules.weighted_inputs(op.type)[:2]
        if index is None or denied(op, denylisted_ops, denylisted_nodes):
            continue
        name = op.inputs[index] if index < len(op.inputs) else None
        if name in done or not _float_constant(graph, name):
            continue
        data = graph.tensors[name].data
        if data.size < min_elements:
            continue
        q, quant = symmetric_weights(data, rules.weights_axis(op.type, axis, per_channel,
                                                              per_channel_dense))
        dequantize.append(_insert_dequantize(graph, name, q, quant, op.origin))
        done.add(name)
    graph.ops[:0] = dequantize
    return graph


def _quantize_hybrid_weights(graph: Graph, min_elements: int, denylisted_ops,
                             denylisted_nodes) -> None:
    """The weights of ops with hybrid kernels (`OpDef.hybrid_weights`: the recurrent ops)
    stored as symmetric int8, per tensor, which the op reads as they are: TFLite's hybrid
    kernels quantize the float input on the fly. An op whose weights are all too small
    keeps them float, as the official converter does."""
    for op in graph.ops:
        slots = [] if op.is_custom else get_op(op.type).hybrid_weights
        names = [op.inputs[i] for i in slots if i < len(op.inputs)
                 and _float_constant(graph, op.inputs[i])]
        if not names or denied(op, denylisted_ops, denylisted_nodes) or \
                max(graph.tensors[n].data.size for n in names) < min_elements:
            continue
        for name in names:
            tensor = graph.tensors[name]
            tensor.data, tensor.quant = symmetric_weights(tensor.data, None)
            tensor.dtype = tensor.data.dtype


def quantize_float16(graph: Graph, denylisted_ops=(), denylisted_nodes=()) -> Graph:
    """Every float32 constant an op reads (and that fits float16's range) becomes float16
    behind a DEQUANTIZE, in every graph (a recurrent layer's op sits in a subgraph); the
    arithmetic stays float32."""
    for g in graph.all_graphs():
        _float16_constants(g, denylisted_ops, denylisted_nodes)
    return graph


def _float16_constants(graph: Graph, denylisted_ops, denylisted_nodes) -> None:
    dequantize = []
    done = set()
    for op in graph.ops:
        if denied(op, denylisted_ops, denylisted_nodes):
            continue
        for name in op.inputs:
            if name in done or not _float_constant(graph, name):
                continue
            data = graph.tensors[name].data
            if data.size and np.abs(data).max() > FLOAT16_MAX:
                continue  # would overflow to inf: keep float32
            dequantize.append(_insert_dequantize(graph, name, data.astype(np.float16), None,
                                                 op.origin))
            done.add(name)
    graph.ops[:0] = dequantize
