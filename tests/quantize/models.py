"""Small float Keras models for the quantization tests (built with NumPy initializers, so
building is fast), with BatchNorm statistics set to realistic values, and calibration data."""

from __future__ import annotations

import numpy as np

from tests.keras.helpers import numpy_initializers


def _keras():
    import keras

    return keras


def realistic_batch_norms(model, seed=0):
    """Give every BatchNormalization non-trivial statistics, as a trained model has."""
    rng = np.random.default_rng(seed)
    keras = _keras()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape).astype(np.float32),
                               rng.uniform(-0.3, 0.3, beta.shape).astype(np.float32),
                               rng.uniform(-0.5, 0.5, mean.shape).astype(np.float32),
                               rng.uniform(0.5, 2.0, var.shape).astype(np.float32)])
    return model


def cnn(input_shape=(16, 16, 3), classes=10):
    """CONV -> BN -> ReLU6 -> MaxPool -> CONV -> AvgPool -> Flatten -> Dense -> Softmax."""
    keras = _keras()
    L = keras.layers
    with numpy_initializers(0):
        x = inputs = keras.Input(input_shape)
        x = L.Conv2D(8, 3, padding="same", name="conv1")(x)
        x = L.BatchNormalization(name="bn1")(x)
        x = L.ReLU(6.0, name="relu1")(x)
        x = L.MaxPooling2D(2, name="pool1")(x)
        x = L.Conv2D(16, 3, strides=2, activation="relu", name="conv2")(x)
        x = L.AveragePooling2D(2, name="pool2")(x)
        x = L.Flatten(name="flatten")(x)
        x = L.Dense(32, activation="relu", name="dense1")(x)
        outputs = L.Dense(classes, activation="softmax", name="logits")(x)
        model = keras.Model(inputs, outputs, name="cnn")
    return realistic_batch_norms(model)


def separable(input_shape=(16, 16, 3), classes=5):
    """Depthwise-separable blocks with a residual ADD, a CONCATENATE of two branches, global
    average pooling and a softmax head."""
    keras = _keras()
    L = keras.layers
    with numpy_initializers(1):
        x = inputs = keras.Input(input_shape)
        x = L.Conv2D(16, 3, strides=2, padding="same", use_bias=False, name="stem")(x)
        x = L.BatchNormalization(name="stem_bn")(x)
        x = L.ReLU(6.0, name="stem_relu")(x)
        y = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw1")(x)
        y = L.BatchNormalization(name="dw1_bn")(y)
        y = L.ReLU(6.0, name="dw1_relu")(y)
        y = L.Conv2D(16, 1, use_bias=False, name="pw1")(y)
        y = L.BatchNormalization(name="pw1_bn")(y)
        x = L.Add(name="residual")([x, y])
        a = L.Conv2D(8, 1, activation="relu", name="branch_a")(x)
        b = L.DepthwiseConv2D(3, padding="same", depth_multiplier=1, name="branch_b_dw")(x)
        b = L.Conv2D(8, 1, name="branch_b")(b)
        x = L.Concatenate(name="concat")([a, b])
        x = L.GlobalAveragePooling2D(name="gap")(x)
        x = L.Dense(classes, name="head")(x)
        outputs = L.Softmax(name="softmax")(x)
        model = keras.Model(inputs, outputs, name="separable")
    return realistic_batch_norms(model, seed=1)


def mlp(features=20, classes=4):
    """Dense -> tanh -> Dense -> sigmoid, plus a second Dense output."""
    keras = _keras()
    L = keras.layers
    with numpy_initializers(2):
        inputs = keras.Input((features,))
        h = L.Dense(64, activation="tanh", name="hidden")(inputs)
        h = L.Dense(48, activation="relu", name="hidden2")(h)
        out = L.Dense(classes, activation="sigmoid", name="probs")(h)
        model = keras.Model(inputs, out, name="mlp")
    return model


def dataset(shape, n=64, seed=0, scale=1.0):
    """A representative_dataset callable: ``n`` samples of ``shape`` (batch 1 each)."""
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((n, *shape)) * scale).astype(np.float32)

    def gen():
        for x in data:
            yield [x[None]]

    return gen, data
