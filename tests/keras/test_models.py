"""Hand-built Keras models through every source format, LiteRT against Keras."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.frontends.keras import load_keras
from edgeport.passes import optimize
from tests.keras.helpers import check_model, randomize_batch_norms

keras = pytest.importorskip("keras")
layers = keras.layers


def rand(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def small_cnn():
    inp = keras.Input((12, 12, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1)(inp)
    x = layers.Conv2D(8, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = layers.DepthwiseConv2D(3, strides=2)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    y = layers.Conv2D(8, 1, activation="relu")(x)
    x = layers.Add()([x, y])
    a = layers.MaxPooling2D()(x)
    c = layers.AveragePooling2D(2, padding="same")(x)
    x = layers.Concatenate()([a, c])
    x = layers.Dropout(0.5)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="swish")(x)
    x = layers.Reshape((4, 4))(x)
    x = layers.GlobalAveragePooling1D()(x)
    out = layers.Dense(5, activation="softmax", name="probs")(x)
    return keras.Model(inp, out)


def test_small_cnn_matches_keras(tmp_path):
    model = small_cnn()
    randomize_batch_norms(model)
    check_model(model, [rand(3, 12, 12, 3) * 100], tmp_path)


def test_batch_norm_and_activations_are_fused():
    model = small_cnn()
    randomize_batch_norms(model)
    graph = optimize(load_keras(model))
    types = [op.type for op in graph.ops]
    assert "RELU6" not in types and "RELU" not in types
    assert not [op for op in graph.ops if op.origin.startswith("batch_normalization")]
    convs = [op for op in graph.ops if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert [op.attrs["fused_activation_function"] for op in convs] == ["RELU6", "RELU", "RELU"]
    assert all(op.origin for op in graph.ops)


@pytest.mark.parametrize("activation", ["relu", "relu6", "sigmoid", "tanh", "softmax",
                                        "log_softmax", "swish", "silu", "hard_swish",
                                        "hard_silu", "hard_sigmoid", "gelu", "elu", "selu",
                                        "leaky_relu", "linear", "exponential"])
def test_activation(tmp_path, activation):
    inp = keras.Input((10,))
    out = layers.Activation(activation)(layers.Dense(7)(inp))
    check_model(keras.Model(inp, out), [rand(4, 10)], tmp_path, formats=("live",))


def test_mlp_sequential_all_formats(tmp_path):
    model = keras.Sequential([keras.Input((20,)), layers.Dense(32, activation="relu"),
                              layers.BatchNormalization(), layers.Dense(10)])
    randomize_batch_norms(model)
    converted = check_model(model, [rand(5, 20)], tmp_path)
    assert len(set(converted.values())) == 1  # the same bytes from every source


def test_functional_several_inputs_outputs_shared_and_nested(tmp_path):
    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    shared = layers.Dense(8, activation="tanh", name="shared")
    inner = keras.Sequential([keras.Input((8,)), layers.Dense(4, name="d1"),
                              layers.BatchNormalization(name="bn1")], name="inner")
    ha, hb = shared(a), shared(b)
    out1 = inner(layers.Subtract()([ha, hb]))
    out2 = layers.Maximum(name="max")([ha, hb])
    model = keras.Model([a, b], [out1, out2])
    randomize_batch_norms(model)
    converted = check_model(model, [rand(3, 6), rand(3, 6, seed=1)], tmp_path)
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=converted["keras"]).get_signature_runner()
    got = runner(a=rand(1, 6), b=rand(1, 6, seed=1))
    assert set(got) == {"inner", "max"}


@pytest.mark.parametrize("pool", ["MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D"])
def test_conv1d_and_pool1d(tmp_path, pool):
    inp = keras.Input((16, 3))
    x = layers.Conv1D(5, 3, padding="same", dilation_rate=2)(inp)
    x = getattr(layers, pool)(**({} if pool.startswith("Global") else {"pool_size": 2}))(x)
    check_model(keras.Model(inp, x), [rand(2, 16, 3)], tmp_path, formats=("live",))


@pytest.mark.parametrize("build", [
    lambda: [layers.SeparableConv2D(6, 3, padding="same", depth_multiplier=2)],
    lambda: [layers.Conv2DTranspose(4, 3, strides=2, padding="same")],
    lambda: [layers.Conv2DTranspose(4, 3, strides=2, padding="valid")],
    lambda: [layers.Conv2D(6, 3, groups=3)],
    lambda: [layers.LayerNormalization()],
    lambda: [layers.PReLU(shared_axes=[1, 2])],
    lambda: [layers.LeakyReLU(0.1)],
    lambda: [layers.ELU(0.5)],
    lambda: [layers.Softmax()],
    lambda: [layers.Permute((2, 1, 3))],
    lambda: [layers.UpSampling2D(2)],
    lambda: [layers.UpSampling2D(2, interpolation="bilinear")],
    lambda: [layers.Cropping2D(((1, 0), (0, 2)))],
    lambda: [layers.GlobalMaxPooling2D(keepdims=True)],
    lambda: [layers.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 3.0])],
    lambda: [layers.ReLU(max_value=2.0, negative_slope=0.1)],
], ids=["separable", "transpose_same", "transpose_valid", "groups", "layernorm", "prelu",
        "leaky", "elu", "softmax", "permute", "upsample", "upsample_bilinear", "crop",
        "globalmax_keepdims", "normalization", "relu_options"])
def test_image_layers(tmp_path, build):
    inp = keras.Input((6, 6, 3))
    x = inp
    for layer in build():
        x = layer(x)
    model = keras.Model(inp, x)
    for layer in model.layers:  # non-trivial weights where there are any
        layer.set_weights([rand(*w.shape, seed=i) * 0.5 + (1 if w.ndim == 1 else 0)
                           for i, w in enumerate(layer.get_weights())])
    check_model(model, [rand(2, 6, 6, 3)], tmp_path, formats=("live", "keras"))


def test_merge_layers(tmp_path):
    a, b, c = (keras.Input((4, 5)) for _ in range(3))
    outs = [layers.Add()([a, b, c]), layers.Multiply()([a, b]), layers.Average()([a, b, c]),
            layers.Minimum()([a, c]), layers.Concatenate(axis=1)([a, b]),
            layers.Dense(3)(a), layers.RepeatVector(3)(layers.Flatten()(a)),
            layers.ZeroPadding1D(2)(a), layers.Cropping1D((1, 2))(b), layers.UpSampling1D(2)(c)]
    model = keras.Model([a, b, c], outs)
    check_model(model, [rand(2, 4, 5, seed=i) for i in range(3)], tmp_path,
                formats=("live", "keras", "h5"))
