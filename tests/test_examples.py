"""The built-in examples: the shipped trained digits model and its data, and the code-built
random-weight graph."""

from __future__ import annotations

import sys

import numpy as np

from edgeport.examples import (
    digits_calibration_images,
    digits_cnn,
    digits_test_split,
    trained_digits_model_path,
)
from edgeport.lite import Interpreter, TFLiteConverter
from edgeport.shapes import validate


def _predict(model: bytes, x: np.ndarray) -> np.ndarray:
    it = Interpreter(model_content=model)
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    it.resize_tensor_input(inp["index"], x.shape)
    it.allocate_tensors()
    it.set_tensor(inp["index"], x)
    it.invoke()
    return it.get_tensor(out["index"])


def test_shipped_files_are_small():
    path = trained_digits_model_path()
    assert path.suffix == ".keras" and path.is_file()
    assert path.stat().st_size < 300 * 1024
    split = path.with_name("digits_split.npz")
    assert path.stat().st_size + split.stat().st_size < 300 * 1024


def test_splits():
    x, y = digits_test_split()
    calibration = digits_calibration_images()
    assert x.shape == (len(y), 8, 8, 1) and x.dtype == np.float32 and len(y) >= 400
    assert calibration.shape == (200, 8, 8, 1) and calibration.dtype == np.float32
    assert 0 <= x.min() and x.max() == 1.0 and calibration.max() == 1.0
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(10))


def test_loads_and_is_accurate_without_keras(monkeypatch):
    for module in ("keras", "tensorflow"):
        monkeypatch.setitem(sys.modules, module, None)  # any import of them fails
    model = TFLiteConverter.from_keras_file(trained_digits_model_path()).convert()
    x, y = digits_test_split()
    accuracy = np.mean(_predict(model, x).argmax(1) == y)
    assert accuracy >= 0.97


def test_accuracy_equals_keras():
    import keras

    x, y = digits_test_split()
    reference = keras.models.load_model(trained_digits_model_path()).predict(x, verbose=0)
    ours = _predict(TFLiteConverter.from_keras_file(trained_digits_model_path()).convert(), x)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert np.mean(ours.argmax(1) == y) == np.mean(reference.argmax(1) == y)


def test_random_weight_digits_cnn_still_builds():
    graph = digits_cnn()
    validate(graph)
    assert [op.type for op in graph.ops] == ["CONV_2D", "MAX_POOL_2D", "CONV_2D", "MEAN",
                                             "FULLY_CONNECTED", "SOFTMAX"]
