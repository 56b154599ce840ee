"""Attention: MultiHeadAttention, Attention and AdditiveAttention, as the ops of attention.

Keras' projections are EinsumDense layers with kernels [features, heads, size]; each becomes one
FULLY_CONNECTED (``keep_num_dims``) to [batch, steps, heads * size], a RESHAPE to
[batch, steps, heads, size] and a TRANSPOSE to [batch, heads, steps, size]. The query is scaled
by 1 / sqrt(key_dim) (MUL), the scores are BATCH_MATMUL(query, key, adj_y), a causal mask
ADDs Keras' large negative (-1e9) above the diagonal before the SOFTMAX, and BATCH_MATMUL with
the value, TRANSPOSE, RESHAPE and the output FULLY_CONNECTED give the result. The official
converter emits the same ops.

Attention (Luong: dot scores, optionally times a learned scalar ``scale``; or "concat" scores)
and AdditiveAttention (Bahdanau: sum over the features of tanh(query + key), times a learned
``scale`` per feature) take [query, value(, key)] and have no projections.
"""

from __future__ import annotations

import numpy as np

from . import keras_layer

LARGE_NEGATIVE = -1e9  # keras.layers.Softmax's masked value for float32
TENSOR_KWARGS = ("key", "attention_mask", "query_mask", "value_mask", "key_mask")


@keras_layer("MultiHeadAttention", inputs=None)
def multi_head_attention(b, cfg, inputs):
    """mha(query, value[, key]) on rank-3 inputs [batch, steps, features]; value is also the
    key unless a key is given."""
    if not 1 <= len(inputs) <= 3:
        raise b.unsupported(f"takes query, value and key, the model gives it {len(inputs)}")
    kwargs = b.call_kwargs
    for name in TENSOR_KWARGS:
        if kwargs.get(name) is not None:
            raise b.unsupported(f"{name}= given to the call is not supported yet (pass the "
                                "key as the third positional argument)")
    if kwargs.get("return_attention_scores"):
        raise b.unsupported("return_attention_scores=True is not supported yet")
    if cfg.bool("use_gate", False) or cfg.get("sliding_window") is not None:
        raise b.unsupported("use_gate and sliding_window are not supported yet")
    query = inputs[0]
    value = inputs[1] if len(inputs) > 1 else query
    key = inputs[2] if len(inputs) > 2 else value
    for tensor in (query, key, value):
        b.shape(tensor, 3)
    axes = cfg.get("attention_axes")
    if axes not in (None, [1], [-2], 1):
        raise cfg.error("attention_axes", "the steps axis (the default) of rank-3 inputs")
    heads, key_dim = cfg.int("num_heads", minimum=1), cfg.int("key_dim", minimum=1)
    value_dim = cfg.int("value_dim", key_dim, minimum=1)
    out_dim = _output_size(cfg, b.shape(query)[-1])
    use_bias = cfg.bool("use_bias", True)
    shapes = [(b.shape(query)[-1], heads, key_dim), (heads, key_dim),
              (b.shape(key)[-1], heads, key_dim), (heads, key_dim),
              (b.shape(value)[-1], heads, value_dim), (heads, value_dim),
              (heads, value_dim, out_dim), (out_dim,)]
    weights = b.weights(*(shapes if use_bias else shapes[::2]))
    kernels = weights[::2] if use_bias else weights
    biases = weights[1::2] if use_bias else [np.zeros(s[:1] if len(s) == 1 else
                                                      (np.prod(s),)) for s in shapes[1::2]]
    q = _heads(b, query, kernels[0], biases[0], "query")
    k = _heads(b, key, kernels[1], biases[1], "key")
    v = _heads(b, value, kernels[2], biases[2], "value")
    q = b.op("MUL", [q, b.const(1.0 / np.sqrt(key_dim))], suffix="scaled_query")
    scores = b.op("BATCH_MATMUL", [q, k], {"adj_y": True}, suffix="scores")
    mixed = _attend(b, scores, v, query, key, kwargs)
    mixed = b.op("TRANSPOSE", [mixed, b.const([0, 2, 1, 3], np.int32, "perm")])
    mixed = b.reshape(mixed, [b.shape(query)[1], heads * value_dim])
    out = kernels[3].reshape(heads * value_dim, out_dim)
    return b.op("FULLY_CONNECTED", [mixed, b.const(out.T, suffix="kernel"),
                                    b.const(np.reshape(biases[3], -1), suffix="bias")],
                {"keep_num_dims": True}, suffix="output")


@keras_layer("Attention", "AdditiveAttention", inputs=None)
def attention(b, cfg, inputs):
    """layer([query, value]) or layer([query, value, key]), each [batch, steps, features]."""
    if len(inputs) not in (2, 3):
        raise b.unsupported(f"takes [query, value] or [query, value, key], the model gives "
                            f"it {len(inputs)} inputs")
    kwargs = b.call_kwargs
    if kwargs.get("mask") is not None or kwargs.get("return_attention_scores"):
        raise b.unsupported("mask= and return_attention_scores=True given to the call are "
                            "not supported yet")
    query, value = inputs[:2]
    key = inputs[2] if len(inputs) > 2 else value
    steps_q, features = b.shape(query, 3)[1:]
    steps_k = b.shape(key, 3)[1]
    additive = b.class_name == "AdditiveAttention"
    mode = "concat" if additive else cfg.text("score_mode", "dot")
    if mode not in ("dot", "concat"):
        raise cfg.error("score_mode", "'dot' or 'concat'")
    use_scale = cfg.bool("use_scale", True if additive else False)
    shapes = ([((features,) if additive else ())] if use_scale else []) + \
        ([()] if mode == "concat" and not additive else [])
    weights = b.weights(*shapes)
    scale = weights[0] if use_scale else None
    if mode == "dot":
        scores = b.op("BATCH_MATMUL", [query, key], {"adj_y": True}, suffix="scores")
        if scale is not None:
            scores = b.op("MUL", [scores, b.const(scale)], suffix="scaled_scores")
    else:  # sum over the features of tanh(query + key), broadcast to [batch, Tq, Tk, features]
        pairs = b.op("ADD", [b.reshape(query, [steps_q, 1, features]),
                             b.reshape(key, [1, steps_k, features])], suffix="pairs")
        if scale is not None and not additive:
            pairs = b.op("MUL", [pairs, b.const(scale)])
        pairs = b.op("TANH", [pairs])
        if scale is not None and additive:
            pairs = b.op("MUL", [pairs, b.const(scale)])
        scores = b.op("SUM", [pairs, b.const([-1], np.int32, "axis")], {"keep_dims": False},
                      suffix="scores")
        if not additive:
            scores = b.op("MUL", [scores, b.const(weights[-1])], suffix="weighted_scores")
    return _attend(b, scores, value, query, key, kwargs)


def _attend(b, scores: str, value: str, query: str, key: str, kwargs) -> str:
    """softmax(scores, with the causal mask where the call asks for it) @ value."""
    if kwargs.get("use_causal_mask"):
        steps_q, steps_k = b.shape(query)[1], b.shape(key)[1]
        causal = np.tril(np.ones((steps_q, steps_k), bool))  # Keras: row index >= column
        scores = b.op("ADD", [scores, b.const(np.where(causal, 0.0, LARGE_NEGATIVE),
                                              suffix="causal_mask")])
    weights = b.op("SOFTMAX", [scores], {"beta": 1.0})
    return b.op("BATCH_MATMUL", [weights, value], suffix="attended")


def _heads(b, x: str, kernel, bias, part: str) -> str:
    """A projection to [batch, heads, steps, size]."""
    features, heads, size = kernel.shape
    projected = b.op("FULLY_CONNECTED", [x, b.const(kernel.reshape(features, -1).T,
                                                    suffix=f"{part}_kernel"),
                                         b.const(np.reshape(bias, -1), suffix=f"{part}_bias")],
                     {"keep_num_dims": True}, suffix=part)
    split = b.reshape(projected, [b.shape(x)[1], heads, size])
    return b.op("TRANSPOSE", [split, b.const([0, 2, 1, 3], np.int32, "perm")])


def _output_size(cfg, query_features: int) -> int:
    shape = cfg.get("output_shape")
    if shape is None:
        return query_features
    sizes = [shape] if isinstance(shape, int) else list(shape)
    if len(sizes) != 1 or not isinstance(sizes[0], int) or sizes[0] < 1:
        raise cfg.error("output_shape", "one positive size (the last axis)")
    return sizes[0]
