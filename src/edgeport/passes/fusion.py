"""Batch-norm folding and activation fusion, as the official converter does them. Which ops
take part is theirs to say: an op's `OpDef.fusable_activations` (the activation ops it
absorbs) and its `Weighted` quantization rule (where its weights, bias and output channels
are)."""

from __future__ import annotations

import numpy as np

from ..graph import Graph, Tensor
from ..ops import get_op
from ..ops.quant_rules import Weighted
from .rewrite import merge_into, single_consumer


def _fusable_activations(op) -> frozenset[str]:
    definition = None if op.is_custom else get_op(op.type)
    return frozenset() if definition is None else definition.fusable_activations


def _batch_norm_target(op) -> Weighted | None:
    """The `Weighted` rule of an op a batch norm folds into: a weighted sum that fuses the
    activation after it (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED), else None."""
    rule = get_op(op.type).quant if _fusable_activations(op) else None
    return rule if isinstance(rule, Weighted) else None


def fold_batch_norms(graph: Graph) -> Graph:
    """Fold a per-channel MUL and/or ADD by constants (what BatchNormalization becomes) into
    the CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED before it (`_batch_norm_target`), when
    that op has constant float weights and bias, no fused activation, and the MUL/ADD is the
    only reader of its output. Guarantees: outputs unchanged up to float rounding; the folded
    op keeps its origin; weights shared with other ops are copied, never changed in place."""
    changed = True
    while changed:
        changed = False
        consumers = graph.consumers()
        for op in list(graph.ops):
            rule = _batch_norm_target(op)
            if rule is None or op.attrs.get("fused_activation_function", "NONE") != "NONE":
                continue
            follower = single_consumer(graph, op.outputs[0], consumers)
            if follower is None or follower.type not in ("MUL", "ADD") or \
                    follower.attrs.get("fused_activation_function", "NONE") != "NONE":
                continue
            factor = _channel_constant(graph, follower, op.outputs[0])
            weights, bias = (graph.tensors.get(n) if n else None
                             for n in op.inputs[rule.weights:rule.bias + 1])
            if factor is None or weights is None or not weights.is_constant or \
                    weights.dtype != np.float32 or (bias is not None and not bias.is_constant):
                continue
            channels = weights.shape[rule.axis]
            if factor.size not in (1, channels):
                continue
            factor = np.broadcast_to(factor, (channels,)).astype(np.float32)
            b = bias.data if bias is not None else np.zeros(channels, np.float32)
            if follower.type == "MUL":
                shape = [1] * weights.data.ndim
                shape[rule.axis] = channels
                w = weights.data * factor.reshape(shape)
                _replace_input(graph, op, rule.weights, w, "folded_kernel")
                b = b * factor
            else:
                b = b + factor
            op.inputs += [None] * (rule.bias + 1 - len(op.inputs))
            _replace_input(graph, op, rule.bias, b.astype(np.float32), "folded_bias")
            merge_into(graph, op, follower)
            changed = True
            break
    return graph


def _channel_constant(graph: Graph, op, x: str) -> np.ndarray | None:
    """The other operand of a binary op on ``x``, when it is a constant that only varies
    along the last axis (shape (), (C,) or (1, ..., C)) and does not broadcast x larger."""
    others = [n for n in op.inputs if n != x]
    if len(op.inputs) != 2 or len(others) != 1:
        return None
    const = graph.tensors[others[0]]
    if not const.is_constant or const.data.ndim > len(graph.tensors[x].shape):
        return None
    if any(d != 1 for d in const.data.shape[:-1]):
        return None
    return const.data.reshape(-1)


def _replace_input(graph: Graph, op, index: int, value: np.ndarray, suffix: str) -> None:
    name = graph.unique_name(f"{op.outputs[0]}/{suffix}")
    graph.add_tensor(Tensor(name, value.shape, value.dtype, value))
    op.inputs[index] = name


def fuse_activations(graph: Graph) -> Graph:
    """Fuse a RELU / RELU6 / RELU_N1_TO_1 into the op whose output only it reads, where that op
    takes it (`OpDef.fusable_activations`: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD,
    MUL), as its fused_activation_function. Guarantees: outputs unchanged; the activation's
    output tensor name is kept."""
    consumers = graph.consumers()
    for op in list(graph.ops):
        fusable = _fusable_activations(op)
        if not fusable or op.attrs.get("fused_activation_function", "NONE") != "NONE":
            continue
        follower = single_consumer(graph, op.outputs[0], consumers)
        if follower is None or follower.type not in fusable:
            continue
        if graph.tensors[op.outputs[0]].dtype != np.float32:
            continue
        op.attrs = {**op.attrs, "fused_activation_function": follower.type}
        merge_into(graph, op, follower)
        consumers = graph.consumers()
    return graph


def fold_padding(graph: Graph) -> Graph:
    """Fold a zero PAD of H and W into the VALID CONV_2D / DEPTHWISE_CONV_2D that is its only
    reader, when the padding is exactly what SAME would add (Keras's ZeroPadding2D before a
    strided conv, as in MobileNetV2). Guarantees: outputs unchanged; the conv keeps its
    origin."""
    from ..ops.common import same_padding

    consumers = graph.consumers()
    for pad in [op for op in graph.ops if op.type == "PAD"]:
        conv = single_consumer(graph, pad.outputs[0], consumers)
        paddings = graph.tensors[pad.inputs[1]]
        if conv is None or conv.type not in ("CONV_2D", "DEPTHWISE_CONV_2D") or \
                conv.inputs[0] != pad.outputs[0] or conv.attrs.get("padding") != "VALID" or \
                not paddings.is_constant or paddings.data.shape != (4, 2):
            continue
        p = paddings.data.tolist()
        x_shape = graph.tensors[pad.inputs[0]].shape
        kernel = graph.tensors[conv.inputs[1]].shape
        if p[0] != [0, 0] or p[3] != [0, 0] or min(x_shape[1:3]) < 1:
            continue
        same = [list(same_padding(x_shape[1 + i], kernel[1 + i],
                                  conv.attrs[f"stride_{'hw'[i]}"],
                                  conv.attrs.get(f"dilation_{'hw'[i]}_factor", 1)))
                for i in range(2)]
        if p[1:3] != same:
            continue
        conv.inputs[0] = pad.inputs[0]
        conv.attrs = {**conv.attrs, "padding": "SAME"}
        graph.ops.remove(pad)
        consumers = graph.consumers()
    return graph
