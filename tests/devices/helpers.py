"""Small models for the device tests, and running them with any backend."""

from __future__ import annotations

import numpy as np

from edgeport.graph import Graph, Op, Tensor
from edgeport.lite import Interpreter
from edgeport.lite.interpreter import feed_inputs

__all__ = ["Interpreter", "conv_chain_graph", "run"]


def run(interpreter, *inputs) -> list[np.ndarray]:
    """Resize to the inputs, allocate, set, invoke; the outputs in order."""
    feed_inputs(interpreter, inputs)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def conv_chain_graph(n_blocks: int = 4, channels: int = 8, seed: int = 0) -> Graph:
    """x [-1, 16, 16, 3] -> (CONV_2D 3x3 RELU6 -> DEPTHWISE 3x3 -> ADD residual) * n ->
    MEAN over H, W -> FULLY_CONNECTED 10 -> SOFTMAX: a small MobileNet-like model whose
    every op has a jax kernel; op origins are "block{i}/conv", "block{i}/dw", "block{i}/add"."""
    rng = np.random.default_rng(seed)
    g = Graph(name="main")

    def const(name, value):
        g.add_tensor(Tensor(name, value.shape, value.dtype, value))
        return name

    def tensor(name, shape):
        g.add_tensor(Tensor(name, shape, np.float32))
        return name

    x = tensor("x", (-1, 16, 16, 3))
    g.inputs = [x]
    conv_attrs = dict(padding="SAME", stride_w=1, stride_h=1, dilation_w_factor=1,
                      dilation_h_factor=1, quantized_bias_type="FLOAT32")
    current, c_in = x, 3
    for i in range(n_blocks):
        w = const(f"w{i}", (rng.standard_normal((channels, 3, 3, c_in)) * 0.3).astype(np.float32))
        b = const(f"b{i}", (rng.standard_normal(channels) * 0.1).astype(np.float32))
        conv = tensor(f"conv{i}", (-1, 16, 16, channels))
        g.add_op(Op("CONV_2D", [current, w, b], [conv],
                    {**conv_attrs, "fused_activation_function": "RELU6"}, f"block{i}/conv"))
        dw = const(f"dw{i}", (rng.standard_normal((1, 3, 3, channels)) * 0.3).astype(np.float32))
        out = tensor(f"dwout{i}", (-1, 16, 16, channels))
        g.add_op(Op("DEPTHWISE_CONV_2D", [conv, dw, None], [out],
                    {**conv_attrs, "depth_multiplier": 1, "fused_activation_function": "NONE"},
                    f"block{i}/dw"))
        added = tensor(f"add{i}", (-1, 16, 16, channels))
        g.add_op(Op("ADD", [conv, out], [added], {"fused_activation_function": "RELU",
                                                  "pot_scale_int16": False}, f"block{i}/add"))
        current, c_in = added, channels
    axes = const("axes", np.array([1, 2], np.int32))
    pooled = tensor("pooled", (-1, channels))
    g.add_op(Op("MEAN", [current, axes], [pooled], {"keep_dims": False}, "pool"))
    fw = const("fw", (rng.standard_normal((10, channels)) * 0.3).astype(np.float32))
    logits = tensor("logits", (-1, 10))
    g.add_op(Op("FULLY_CONNECTED", [pooled, fw, None], [logits],
                {"fused_activation_function": "NONE", "weights_format": "DEFAULT",
                 "keep_num_dims": False, "asymmetric_quantize_inputs": False,
                 "quantized_bias_type": "FLOAT32"}, "head/fc"))
    probs = tensor("probs", (-1, 10))
    g.add_op(Op("SOFTMAX", [logits], [probs], {"beta": 1.0}, "head/softmax"))
    g.outputs = [probs]
    return g
