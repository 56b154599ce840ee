"""keras.applications architectures with random weights and realistic batch-norm statistics,
and a model trained on scikit-learn's digits."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from edgeport.frontends.keras import load_keras
from edgeport.lite.converter import TFLiteConverter
from edgeport.passes import optimize
from tests.keras.helpers import (
    assert_close,
    keras_outputs,
    numpy_initializers,
    randomize_batch_norms,
)
from tests.oracles.litert import run_litert


def application(name, size):
    """keras.applications ``name`` with random weights, no final softmax and realistic
    batch-norm statistics, for ``size`` x ``size`` images."""
    keras.utils.set_random_seed(0)
    with numpy_initializers():
        model = getattr(keras.applications, name)(weights=None, classifier_activation=None,
                                                  input_shape=(size, size, 3))
    randomize_batch_norms(model)
    return model


# The smallest inputs each architecture accepts (Xception needs 71), to keep the tests fast;
# models that include their preprocessing (Rescaling/Normalization) get pixel values.
APPLICATIONS = {"MobileNetV3Small": (32, 255.0), "EfficientNetB0": (32, 255.0),
                "ResNet50": (32, 1.0), "DenseNet121": (32, 1.0), "NASNetMobile": (32, 1.0),
                "Xception": (71, 1.0)}


@pytest.mark.parametrize("name", list(APPLICATIONS))
def test_application_matches_keras(name, tmp_path):
    size, pixel_range = APPLICATIONS[name]
    model = application(name, size)
    x = np.random.default_rng(0).uniform(0 if pixel_range > 1 else -1, pixel_range,
                                         (2, size, size, 3)).astype(np.float32)
    want = keras_outputs(model, [x])[0]
    path = tmp_path / f"{name}.keras"
    model.save(path)
    tflite = TFLiteConverter.from_keras_file(path).convert()
    assert_close(run_litert(tflite, [x], reference=False)[0], want)


def test_mobilenet_v2_matches_keras(tmp_path):
    with numpy_initializers():
        model = keras.applications.MobileNetV2(weights=None, classifier_activation=None,
                                               input_shape=(96, 96, 3))
    randomize_batch_norms(model)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 96, 96, 3)).astype(np.float32)
    want = keras_outputs(model, [x])[0]
    path = tmp_path / "mobilenet_v2.keras"
    model.save(path)
    tflite = TFLiteConverter.from_keras_file(path).convert()
    assert_close(run_litert(tflite, [x], reference=False)[0], want)
    graph = optimize(load_keras(path))
    types = [op.type for op in graph.ops]
    # BN folded, ReLU6 fused and ZeroPadding2D folded into its SAME conv everywhere
    counts = {t: types.count(t) for t in set(types)}
    assert counts == {"CONV_2D": 35, "DEPTHWISE_CONV_2D": 17, "ADD": 10, "MEAN": 1,
                      "FULLY_CONNECTED": 1}


def test_digits_classifier_keeps_its_accuracy(tmp_path):
    from sklearn import datasets

    digits = datasets.load_digits()
    images = (digits.images[..., None] / 16.0).astype(np.float32)
    labels = digits.target
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images[:1400], labels[:1400], epochs=30, batch_size=64, verbose=0)
    test_x, test_y = images[1400:], labels[1400:]
    want = np.argmax(model.predict(test_x, verbose=0), axis=1)
    assert np.mean(want == test_y) > 0.8  # it did learn
    path = tmp_path / "digits.h5"
    model.save(path)
    got = np.argmax(run_litert(TFLiteConverter.from_keras_file(path).convert(), [test_x],
                               reference=False)[0], axis=1)
    assert np.mean(got == test_y) == np.mean(want == test_y)
