"""Hand-built Keras models through every source format, LiteRT against Keras."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from edgeport.frontends.keras import load_keras
from edgeport.passes import optimize
from tests.keras.helpers import check_model, randomize_batch_norms

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
                                        "leaky_relu", "linear", "exponential", "softplus",
                                        "softsign"])
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
    lambda: [layers.ReLU(threshold=0.5)],
    lambda: [layers.ReLU(threshold=0.3, max_value=1.0)],
    lambda: [layers.ReLU(threshold=0.4, negative_slope=0.2, max_value=3.0)],
], ids=["separable", "transpose_same", "transpose_valid", "groups", "layernorm", "prelu",
        "leaky", "elu", "softmax", "permute", "upsample", "upsample_bilinear", "crop",
        "globalmax_keepdims", "normalization", "relu_options", "relu_threshold",
        "relu_threshold_max", "relu_threshold_slope_max"])
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


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_transpose_any_batch(tmp_path, padding):
    """The output_shape input is computed from the input's batch at run time."""
    inp = keras.Input((5, 4, 3))
    model = keras.Model(inp, layers.Conv2DTranspose(4, 3, strides=2, padding=padding)(inp))
    model.layers[1].set_weights([rand(3, 3, 4, 3), rand(4, seed=1)])
    converted = check_model(model, [rand(3, 5, 4, 3)], tmp_path, formats=("live", "h5"))
    types = [op.type for op in optimize(load_keras(model)).ops]
    assert types == ["SHAPE", "STRIDED_SLICE", "CONCATENATION", "TRANSPOSE_CONV"]
    from edgeport.lite import Interpreter

    for batch in (1, 3):
        runner = Interpreter(model_content=converted["live"])
        runner.resize_tensor_input(0, [batch, 5, 4, 3])
        runner.allocate_tensors()
        x = rand(batch, 5, 4, 3, seed=batch)
        runner.set_tensor(runner.get_input_details()[0]["index"], x)
        runner.invoke()
        got = runner.get_tensor(runner.get_output_details()[0]["index"])
        np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("build", [
    lambda: [layers.Resizing(9, 5)],
    lambda: [layers.Resizing(4, 3)],
    lambda: [layers.Resizing(12, 4, interpolation="nearest")],
    lambda: [layers.Resizing(3, 4, interpolation="nearest")],
    lambda: [layers.CenterCrop(3, 4)],
    lambda: [layers.CenterCrop(6, 5)],
], ids=["resize_bilinear_up", "resize_bilinear_down", "resize_nearest_up",
        "resize_nearest_down", "center_crop", "center_crop_odd"])
def test_resizing_and_cropping_layers(tmp_path, build):
    inp = keras.Input((6, 6, 3))
    x = inp
    for layer in build():
        x = layer(x)
    check_model(keras.Model(inp, x), [rand(2, 6, 6, 3)], tmp_path, formats=("live", "keras"))


@pytest.mark.parametrize("axes,shapes", [(1, [(7,), (7,)]), (-1, [(7,), (7,)]),
                                         ((2, 1), [(3, 5), (5, 4)]), ((2, 2), [(3, 5), (4, 5)]),
                                         ((1, 1), [(5, 3), (5, 4)]), ((1, 2), [(5, 3), (4, 5)])])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot(tmp_path, axes, shapes, normalize):
    a, c = (keras.Input(s) for s in shapes)
    model = keras.Model([a, c], layers.Dot(axes, normalize=normalize)([a, c]))
    check_model(model, [rand(3, *shapes[0]), rand(3, *shapes[1], seed=1)], tmp_path,
                formats=("live",))


@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_embedding(tmp_path, dtype):
    inp = keras.Input((6,), dtype=dtype)
    x = layers.Embedding(11, 4)(inp)
    model = keras.Model(inp, layers.Dense(3)(x))
    ids = np.random.default_rng(0).integers(0, 11, (3, 6)).astype(dtype)
    want = model.predict(ids, verbose=0)
    from edgeport.lite.converter import TFLiteConverter
    from tests.oracles.litert import run_litert

    path = tmp_path / "embedding.keras"
    model.save(path)
    for tflite in (TFLiteConverter.from_keras_model(model).convert(),
                   TFLiteConverter.from_keras_file(path).convert()):
        got = run_litert(tflite, [ids], reference=False)[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_keras_elementwise_functions(tmp_path):
    """keras.ops.sin, exp, log, sqrt and tanh recorded as operations, through every format."""
    x = keras.Input((4, 5))
    h = layers.Dense(5, name="d")(x)
    out = keras.ops.sin(h) + keras.ops.exp(h * 0.1) + keras.ops.log(keras.ops.sqrt(h * h + 1.0))
    model = keras.Model(x, keras.ops.tanh(out))
    types = {layer["class_name"] for layer in model.get_config()["layers"]}
    assert {"Sin", "Exp", "Log", "Sqrt", "Tanh"} <= types
    check_model(model, [rand(3, 4, 5)], tmp_path)


def test_keras_ops_on_tensors(tmp_path):
    """x + 3.0, 2.0 - x, x * y recorded as keras.ops operations (as in MobileNetV3's
    hard-sigmoid) next to layers with weights, through every format."""
    a, c = keras.Input((4, 5)), keras.Input((4, 5))
    x = layers.Dense(5, name="d1")(a)
    y = layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)
    z = layers.Dense(5, name="d2")(2.0 - y) / 4.0
    out = layers.Add()([keras.ops.maximum(z, c), keras.ops.minimum(x, 0.5) * c])
    model = keras.Model([a, c], out)
    types = [layer["class_name"] for layer in model.get_config()["layers"]]
    assert "Subtract" in types and "Multiply" in types  # the ops, not layers
    check_model(model, [rand(3, 4, 5), rand(3, 4, 5, seed=1)], tmp_path)
