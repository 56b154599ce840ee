"""The QAT test case: a depthwise-separable CNN trained on scikit-learn's digits whose
weights carry outliers, so that post-training int8 with per-tensor weights (TFLite Micro's
scheme) loses several points of accuracy.

The outliers are the classic ones of batch-norm folding (Nagel et al., "Data-Free Quantization",
2019): three channels of the first convolution are scaled down 100x and the depthwise
convolution's matching channels up 100x. ReLU is positively homogeneous, so the float model
computes exactly the same function, but the depthwise weights' per-tensor scale becomes 100x
too coarse for the other channels. The float model is trained once per session (seeded).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest

OUTLIER_SCALE = 100.0
OUTLIER_CHANNELS = (0, 5, 9)


@dataclass
class Digits:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def digits() -> Digits:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images.astype(np.float32) / 16.0)[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, data.target.astype(np.int64), test_size=0.25, stratify=data.target, random_state=0)
    return Digits(x_train, y_train, x_test, y_test)


def separable_model(data: Digits):
    """Conv-BN-ReLU, depthwise-BN-ReLU, pointwise-BN-ReLU, max-pool, dense softmax; trained
    for 12 epochs (98.7% test accuracy), then given weight outliers (see the module doc)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)

    def bn_relu(x):
        return layers.ReLU()(layers.BatchNormalization(momentum=0.8)(x))

    inputs = keras.Input((8, 8, 1), name="image")
    x = bn_relu(layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem")(inputs))
    x = bn_relu(layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x))
    x = bn_relu(layers.Conv2D(32, 1, use_bias=False, name="pw")(x))
    x = layers.Flatten()(layers.MaxPooling2D()(x))
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="separable_digits")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=12, batch_size=64, verbose=0)
    stem_bn = model.layers[2]
    gamma, beta, mean, var = stem_bn.get_weights()
    kernel = model.get_layer("dw").get_weights()[0]
    for c in OUTLIER_CHANNELS:
        gamma[c] /= OUTLIER_SCALE
        beta[c] /= OUTLIER_SCALE
        kernel[:, :, c, :] *= OUTLIER_SCALE
    stem_bn.set_weights([gamma, beta, mean, var])
    model.get_layer("dw").set_weights([kernel])
    return model


@pytest.fixture(scope="session")
def data() -> Digits:
    return digits()


@pytest.fixture(scope="session")
def keras_path(tmp_path_factory, data) -> str:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    path = tmp_path_factory.mktemp("qat") / "separable_digits.keras"
    separable_model(data).save(path)
    return str(path)


def accuracy(model: bytes, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 accuracy of a .tflite model in edgeport's interpreter."""
    return float(np.mean(run(model, x).argmax(-1) == y))


def run(model: bytes, x: np.ndarray, **kwargs):
    from edgeport.lite import Interpreter

    interpreter = Interpreter(model_content=model, **kwargs)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    interpreter.invoke()
    if kwargs:
        return interpreter
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
