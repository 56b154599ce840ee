"""Keras attention through edgeport: MultiHeadAttention (self and cross attention, the causal
mask, the output size), Attention and AdditiveAttention, against Keras in LiteRT and edgeport
(NumPy and jax) at batch 1 and 4; and a transformer block in full int8, bit-exact between
LiteRT and edgeport."""

import keras
import numpy as np
import pytest

from edgeport.errors import UnsupportedLayerError
from edgeport.lite.converter import TFLiteConverter
from tests.keras.helpers import assert_full_int8, numpy_initializers
from tests.keras.test_recurrent import assert_matches_keras

L = keras.layers


def attention_model(options=None, call=None, cross=False):
    with numpy_initializers(seed=11):
        query = keras.Input((5, 8))
        value = keras.Input((7, 6)) if cross else query
        layer = L.MultiHeadAttention(**{"num_heads": 2, "key_dim": 4, **(options or {})})
        y = layer(query, value, **(call or {}))
        return keras.Model([query, value] if cross else query, y)


@pytest.mark.parametrize("options, call, cross", [
    ({}, {}, False), ({}, {}, True), ({}, {"use_causal_mask": True}, False),
    ({"output_shape": 3, "num_heads": 3}, {}, False), ({"use_bias": False}, {}, True),
    ({}, {"use_causal_mask": True}, True),
], ids=["self", "cross", "causal", "output_shape", "no_bias", "cross_causal"])
def test_multi_head_attention(options, call, cross, tmp_path):
    assert_matches_keras(attention_model(options, call, cross), tmp_path,
                         formats=("live", "keras", "h5"))


@pytest.mark.parametrize("make_layer, call", [
    (lambda: L.Attention(), {}), (lambda: L.Attention(use_scale=True), {}),
    (lambda: L.Attention(score_mode="concat", use_scale=True), {}),
    (lambda: L.Attention(), {"use_causal_mask": True}),
    (lambda: L.AdditiveAttention(), {}), (lambda: L.AdditiveAttention(use_scale=False), {}),
], ids=["dot", "dot_scale", "concat_scale", "causal", "additive", "additive_no_scale"])
def test_attention_and_additive_attention(make_layer, call, tmp_path):
    query, value, key = keras.Input((5, 4)), keras.Input((7, 4)), keras.Input((7, 4))
    layer = make_layer()
    model = keras.Model([query, value, key], layer([query, value, key], **call))
    rng = np.random.default_rng(13)  # learned scales away from their initial 1 and 0
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    assert_matches_keras(model, tmp_path, formats=("live", "keras", "h5"))


def test_tensor_keyword_arguments_are_refused_not_dropped():
    query = keras.Input((5, 8))
    mask = keras.Input((5, 5), dtype="bool")
    layer = L.MultiHeadAttention(2, 4, name="attend")
    model = keras.Model([query, mask], layer(query, query, attention_mask=mask))
    with pytest.raises(UnsupportedLayerError, match=r"'attend'.*attention_mask="):
        TFLiteConverter.from_keras_model(model).convert()


def test_a_transformer_block_in_full_int8():
    """At least the issue's 20 dB SQNR against Keras, bit-exact with LiteRT's reference."""
    with numpy_initializers(seed=12):
        x = keras.Input((16, 32))
        h = L.LayerNormalization()(x + L.MultiHeadAttention(4, 8)(x, x))
        y = L.LayerNormalization()(h + L.Dense(32)(L.Dense(64, activation="gelu")(h)))
        model = keras.Model(x, L.Dense(4)(L.GlobalAveragePooling1D()(y)))
    assert_full_int8(model, np.random.default_rng(12).normal(size=(64, 16, 32))
                     .astype(np.float32))
