"""Quantized models on the jax backend: the integer kernels are traced as they are, with jax's
64-bit types on, so results equal the NumPy interpreter's (and LiteRT's reference kernels') to
the bit. The per-op checks run with every int8 kernel test (tests/quantmodels.py
``assert_bit_exact``); these are whole models and the arithmetic underneath."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from edgeport.arrays import array_namespace, divide_as_c
from edgeport.fixedpoint import count_leading_zeros32
from edgeport.lite import Optimize, TFLiteConverter
from edgeport.runtime.backends.jax import needs_64_bits
from edgeport.runtime.kernels import bind_kernels
from edgeport.shapes import infer_specs
from tests.devices.helpers import Interpreter, run
from tests.keras.helpers import numpy_initializers, randomize_batch_norms
from tests.opmodels import Input, op_graph
from tests.oracles.litert import run_litert
from tests.quantmodels import QInput, qp, quant_graph

OFFICIAL_INT8 = Path(__file__).parents[1] / "data" / "official_digits_int8.tflite"


def run_both(content: bytes, x: np.ndarray):
    """(NumPy outputs, jax outputs, the jax interpreter's placement report)."""
    want = run(Interpreter(model_content=content), x)
    accelerated = Interpreter(model_content=content, backend="jax")
    return want, run(accelerated, x), accelerated.placement_report()


def assert_identical(got: list, want: list) -> None:
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def test_official_converter_int8_model_runs_in_jax_to_the_bit():
    """TensorFlow's own full-integer digits model (int8 in and out)."""
    content = OFFICIAL_INT8.read_bytes()
    x = np.random.default_rng(0).integers(-128, 128, (5, 8, 8, 1)).astype(np.int8)
    want, got, report = run_both(content, x)
    assert {p.kernel for p in report.ops} == {"jax"}
    assert {p.op.split()[0] for p in report.ops} >= {"CONV_2D", "FULLY_CONNECTED", "SOFTMAX"}
    assert_identical(got, want)
    assert_identical(got, run_litert(content, [x], reference=True))


@pytest.mark.parametrize("io_type", [np.float32, np.int8, np.uint8])
def test_int8_mobilenet_runs_in_jax_to_the_bit(io_type):
    keras.utils.set_random_seed(0)
    with numpy_initializers():
        model = keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(32, 32, 3),
                                               classes=10)
    randomize_batch_norms(model)
    rng = np.random.default_rng(0)
    converter = TFLiteConverter.from_keras_model(model)
    converter.optimizations = [Optimize.DEFAULT]
    converter.representative_dataset = lambda: (
        [rng.uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)] for _ in range(8))
    converter.calibration_progress = False
    converter.inference_input_type = converter.inference_output_type = io_type
    content = converter.convert()
    x = rng.uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    if io_type != np.float32:
        info = np.iinfo(io_type)
        x = rng.integers(info.min, info.max + 1, x.shape).astype(io_type)
    want, got, report = run_both(content, x)
    assert {p.kernel for p in report.ops} == {"jax"}
    assert got[0].dtype == io_type
    assert_identical(got, want)


def test_x64_is_on_only_inside_integer_segments():
    content = OFFICIAL_INT8.read_bytes()
    x = np.zeros((1, 8, 8, 1), np.int8)
    before = jax.config.jax_enable_x64
    run(Interpreter(model_content=content, backend="jax"), x)
    assert jax.config.jax_enable_x64 == before


@pytest.mark.parametrize("graph,wide", [
    (op_graph("ADD", [Input((2, 3)), Input((2, 3))], {"fused_activation_function": "NONE"}),
     False),
    (op_graph("CAST", [Input((2, 3))], output_dtypes=[np.int64]), True),
    (op_graph("ADD", [Input((2, 3), np.int64), Input((2, 3), np.int64)],
              {"fused_activation_function": "NONE"}), True),
    (quant_graph("RELU", [QInput((2, 3), np.int8, qp(0.1, 2))], {}, [(np.int8, qp(0.1, 2))]),
     True),
], ids=["float32", "cast-to-int64", "int64", "int8"])
def test_which_ops_need_64_bits(graph, wide):
    specs = infer_specs(graph, bind_kernels(graph))
    assert needs_64_bits(graph.ops[0], graph, specs) == wide


def test_divide_as_c_rounds_once_in_jax():
    """XLA would multiply by the reciprocal of a broadcast divisor: one step off on exact
    halves, which QUANTIZE's rounding then shows."""
    scale = np.array([0.05], np.float32)
    x = ((np.arange(-3000, 3000) + 0.5) * 0.05).astype(np.float32)
    want = x / scale
    got = np.asarray(jax.jit(lambda v: divide_as_c(v, scale))(x))
    np.testing.assert_array_equal(got, want)
    reciprocal = np.asarray(jax.jit(lambda v: v / scale)(x))
    assert (reciprocal != want).any()  # what divide_as_c guards against, still XLA's rewrite
    scalar = np.float32(7.5)  # a 0-d input broadcasts as in NumPy
    assert jax.jit(lambda v: divide_as_c(v, scale))(scalar).shape == (scalar / scale).shape


def test_count_leading_zeros32_in_both_libraries():
    powers = np.array([1 << k for k in range(31)], np.int64)
    x = np.concatenate([[0], powers, powers - 1, powers + 1, [(1 << 31) - 1]])
    want = np.array([32 - int(v).bit_length() for v in x])
    np.testing.assert_array_equal(count_leading_zeros32(x), want)
    with jax.enable_x64(True):
        got = jax.jit(count_leading_zeros32)(jnp.asarray(x))
    np.testing.assert_array_equal(np.asarray(got), want)


def test_array_namespace():
    assert array_namespace(np.zeros(2), None, 3) is np
    assert array_namespace(np.int8(1)) is np
    assert array_namespace(np.zeros(2), jnp.zeros(2)) is jnp
    jax.jit(lambda v: (assert_jnp(array_namespace(v)), v)[1])(jnp.zeros(2))


def assert_jnp(namespace):
    assert namespace is jnp
