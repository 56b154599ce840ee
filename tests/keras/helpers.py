"""Convert a Keras model three ways (live, .keras, .h5), run the .tflite in LiteRT and compare
with Keras's own predictions."""

from __future__ import annotations

import contextlib
from unittest import mock

import numpy as np

from edgeport.lite.converter import TFLiteConverter
from tests.oracles.litert import run_litert

RELATIVE_TOLERANCE = 2e-4  # of the output's scale, max |output|


def keras_outputs(model, inputs) -> list[np.ndarray]:
    out = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    return [np.asarray(o) for o in (out if isinstance(out, (list, tuple)) else [out])]


def assert_close(got, want, tolerance=RELATIVE_TOLERANCE):
    assert got.shape == want.shape, f"shape {got.shape} != Keras's {want.shape}"
    scale = max(float(np.max(np.abs(want))), 1e-6)
    error = float(np.max(np.abs(got - want)))
    assert error <= tolerance * scale, f"max error {error} > {tolerance} * {scale}"


def convert_all(model, tmp_path, formats=("live", "keras", "h5")) -> dict[str, bytes]:
    """The .tflite bytes from each source format."""
    converted = {}
    for fmt in formats:
        if fmt == "live":
            converted[fmt] = TFLiteConverter.from_keras_model(model).convert()
        else:
            path = tmp_path / f"model.{fmt}"
            model.save(path)
            converted[fmt] = TFLiteConverter.from_keras_file(path).convert()
    return converted


def assert_full_int8(model, data: np.ndarray, min_sqnr: float = 20.0) -> float:
    """Full int8 (calibrated on ``data``'s first 32 samples) is bit-exact between LiteRT's
    reference kernels and edgeport on ``data``, and at least ``min_sqnr`` dB SQNR against
    Keras (the recurrent and attention issue's bar); returns the SQNR."""
    from edgeport.lite import Optimize
    from tests.oracles.litert import run_edgeport

    converter = TFLiteConverter.from_keras_model(model)
    converter.optimizations = [Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([data[i:i + 1]] for i in range(32))
    tflite = converter.convert()
    want = keras_outputs(model, [data])[0]
    [litert] = run_litert(tflite, [data])
    np.testing.assert_array_equal(run_edgeport(tflite, [data])[0], litert)
    sqnr = float(10 * np.log10(np.sum(want ** 2) / np.sum((litert - want) ** 2)))
    assert sqnr >= min_sqnr, sqnr
    return sqnr


def check_model(model, inputs, tmp_path, formats=("live", "keras", "h5"), reference=False,
                tolerance=RELATIVE_TOLERANCE) -> dict[str, bytes]:
    """Every format's .tflite run in LiteRT matches Keras's predictions."""
    want = keras_outputs(model, inputs)
    converted = convert_all(model, tmp_path, formats)
    for fmt, tflite in converted.items():
        got = run_litert(tflite, [np.asarray(x, np.float32) for x in inputs], reference=reference)
        assert len(got) == len(want), fmt
        for g, w in zip(got, want):
            assert_close(g, w, tolerance)
    return converted


@contextlib.contextmanager
def numpy_initializers(seed=0):
    """Draw Keras's random weight initializers with NumPy while building a model: on the jax
    backend every new weight shape otherwise compiles a random kernel (~0.3 s each), which
    makes building a keras.applications model take 10-25 s. Only the values' source changes
    (same shapes, dtypes and distributions), which is all these tests need."""
    from keras.src.backend.jax import random as jax_random

    rng = np.random.default_rng(seed)

    def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        return rng.uniform(minval, maxval, shape).astype(dtype or "float32")

    def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        return rng.normal(mean, stddev, shape).astype(dtype or "float32")

    def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        values = rng.normal(0.0, 1.0, shape)
        while np.any(outside := np.abs(values) > 2):  # jax truncates at two deviations
            values[outside] = rng.normal(0.0, 1.0, int(outside.sum()))
        return (mean + stddev * values).astype(dtype or "float32")

    with mock.patch.multiple(jax_random, uniform=uniform, normal=normal,
                             truncated_normal=truncated_normal):
        yield


def randomize_batch_norms(model, seed=0):
    """Realistic BatchNormalization statistics (positive variances, non-zero means, gammas
    and betas), so that folding is exercised and outputs are not degenerate."""
    import keras

    rng = np.random.default_rng(seed)
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32)
                               if i in (0, 3) else
                               rng.normal(0, 0.2, w.shape).astype(np.float32)
                               for i, w in enumerate(layer.get_weights())])


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)
