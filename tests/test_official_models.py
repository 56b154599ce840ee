"""Models written by the official TFLite converter (TensorFlow 2.21; see
tests/data/make_official_models.py) run in edgeport's interpreter as in LiteRT: the full-integer
int8 model bit for bit against the reference kernels, the dynamic-range and float16 ones within
float tolerance. LiteRT's hybrid kernels quantize activations on the fly, which edgeport does not
(it runs the dequantized weights in float), hence the looser bound there."""

from pathlib import Path

import numpy as np
import pytest

from edgeport.examples import digits_test_split
from edgeport.frontends.tflite import read_tflite
from tests.oracles.litert import run_edgeport, run_litert

DATA = Path(__file__).parent / "data"


def images(model: bytes) -> np.ndarray:
    x, _ = digits_test_split()
    graph = read_tflite(model)
    quant = graph.tensors[graph.inputs[0]].quant
    if quant is None:
        return x[:64]
    q = np.round(x[:64] / quant.scale[0]) + quant.zero_point[0]
    return np.clip(q, -128, 127).astype(np.int8)


def test_official_int8_model_is_bit_exact():
    model = (DATA / "official_digits_int8.tflite").read_bytes()
    inputs = [images(model)]
    (want,), (got,) = run_litert(model, inputs), run_edgeport(model, inputs)
    assert want.dtype == got.dtype == np.int8
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kind, atol", [("float16", 1e-6), ("dynamic", 2e-3)])
def test_official_float_weight_models_match(kind, atol):
    model = (DATA / f"official_digits_{kind}.tflite").read_bytes()
    inputs = [images(model)]
    (want,), (got,) = run_litert(model, inputs), run_edgeport(model, inputs)
    np.testing.assert_allclose(got, want, atol=atol, rtol=0)
    assert (got.argmax(-1) == want.argmax(-1)).mean() >= 0.98
