"""Accuracy on scikit-learn's digits: a small CNN keeps its float accuracy within 1 point in
int8 and 0.5 point weights-only and float16, per tensor and per channel (LiteRT runs them)."""

import numpy as np
import pytest

from tests.oracles.litert import run_litert
from tests.quantize.helpers import float_model, quantized


@pytest.fixture(scope="module")
def digits_model():
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train, test = order[:1400], order[1400:]
    keras.utils.set_random_seed(0)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        L.Conv2D(16, 3, padding="same", name="conv1"), L.BatchNormalization(name="bn1"),
        L.ReLU(6.0, name="relu1"),
        L.DepthwiseConv2D(3, padding="same", name="dw"), L.ReLU(name="relu2"),
        L.Conv2D(32, 1, activation="relu", name="pw"),
        L.MaxPooling2D(2, name="pool"), L.Flatten(name="flat"),
        L.Dense(32, activation="relu", name="fc"), L.Dense(10, name="logits"),
        L.Softmax(name="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x[train], y[train], epochs=15, batch_size=32, verbose=0)
    return model, x[train], x[test], y[test]


def accuracy(model_bytes, x, y):
    if model_bytes is None:
        return None
    probs = run_litert(model_bytes, [x])[0]
    return float(np.mean(np.argmax(probs, axis=1) == y)) * 100


@pytest.mark.parametrize("per_channel", [True, False])
def test_digits_accuracy(digits_model, per_channel):
    model, x_train, x_test, y_test = digits_model
    base = accuracy(float_model(model), x_test, y_test)
    assert base > 90

    def dataset():
        for i in range(0, 200):
            yield [x_train[i:i + 1]]

    int8 = accuracy(quantized(model, dataset=dataset, per_channel=per_channel,
                              _experimental_disable_per_channel_quantization_for_dense_layers=(
                                  not per_channel)), x_test, y_test)
    dynamic = accuracy(quantized(model, "dynamic", per_channel=per_channel), x_test, y_test)
    half = accuracy(quantized(model, "float16"), x_test, y_test)
    assert int8 >= base - 1.0, (base, int8)
    assert dynamic >= base - 0.5, (base, dynamic)
    assert half >= base - 0.5, (base, half)
