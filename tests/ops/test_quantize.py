import numpy as np
import pytest

from edgeport.errors import UnsupportedOpError
from edgeport.export.tflite import write_tflite
from edgeport.graph import Graph, Op, QuantParams, Tensor
from edgeport.ops import get_op
from edgeport.fixedpoint import round_half_away
from edgeport.runtime.kernels import bind_kernels
from tests.opmodels import assert_matches_litert
from tests.oracles.litert import run_edgeport
from tests.quantmodels import assert_jax_equals

INT_TYPES = [np.int8, np.uint8, np.int16]


def quant_graph(op_type, shape, in_dtype, out_dtype, in_quant=None, out_quant=None):
    """One QUANTIZE/DEQUANTIZE op over a runtime input, with quantized tensors (op_graph
    leaves quantization parameters out)."""
    graph = Graph(name="main")
    graph.add_tensor(Tensor("x", shape, in_dtype, quant=in_quant))
    graph.add_tensor(Tensor("y", shape, out_dtype, quant=out_quant))
    graph.add_op(Op(op_type, ["x"], ["y"]))
    graph.inputs, graph.outputs = ["x"], ["y"]
    return graph


def assert_matches_litert_and_jax(graph, inputs, **tolerances):
    """LiteRT's results, and edgeport's jax backend (the kernel traced) gives NumPy's bits."""
    outputs = assert_matches_litert(graph, inputs, **tolerances)
    assert_jax_equals(graph, inputs, outputs)
    return outputs


def per_tensor(scale, zero_point):
    return QuantParams([scale], [zero_point])


def all_values(dtype, shape=None):
    """Every value of an 8-bit type, or a spread over int16, as a runtime input."""
    info = np.iinfo(dtype)
    values = (np.arange(info.min, info.max + 1) if info.bits == 8
              else np.linspace(info.min, info.max, 4096).round())
    values = values.astype(dtype)
    return values.reshape(shape) if shape else values.reshape(1, -1)


# --- DEQUANTIZE -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype,scale,zero_point", [
    (np.int8, 0.0473, -7), (np.int8, 1 / 128, 0), (np.uint8, 0.0123, 131), (np.int16, 3.1e-4, 0),
])
def test_dequantize_per_tensor_matches_litert(dtype, scale, zero_point):
    graph = quant_graph("DEQUANTIZE", (1, 2 ** np.iinfo(dtype).bits if dtype != np.int16
                                       else 4096), dtype, np.float32,
                        in_quant=per_tensor(scale, zero_point))
    (out,) = assert_matches_litert_and_jax(graph, [all_values(dtype)], rtol=0, atol=0)
    assert out.dtype == np.float32


def const_dequantize_add_graph(weights: np.ndarray, quant=None):
    """constant -> DEQUANTIZE -> ADD(runtime input): how models store compressed weights."""
    graph = Graph(name="main")
    graph.add_tensor(Tensor("w", weights.shape, weights.dtype, weights, quant=quant))
    graph.add_tensor(Tensor("w_float", weights.shape, np.float32))
    graph.add_tensor(Tensor("x", weights.shape, np.float32))
    graph.add_tensor(Tensor("y", weights.shape, np.float32))
    graph.add_op(Op("DEQUANTIZE", ["w"], ["w_float"]))
    graph.add_op(Op("ADD", ["w_float", "x"], ["y"], {"fused_activation_function": "NONE"}))
    graph.inputs, graph.outputs = ["x"], ["y"]
    return graph


@pytest.mark.parametrize("axis", [0, 1, 3])
def test_dequantize_per_axis_constant_matches_litert(axis):
    rng = np.random.default_rng(axis)
    shape = (3, 4, 2, 5)
    weights = rng.integers(-127, 128, shape).astype(np.int8)
    scales = rng.uniform(1e-3, 0.1, shape[axis]).astype(np.float32)
    quant = QuantParams(scales, np.zeros(shape[axis], np.int64), axis=axis)
    graph = const_dequantize_add_graph(weights, quant)
    zeros = np.zeros(shape, np.float32)
    (out,) = assert_matches_litert(graph, [zeros], rtol=0, atol=0)
    view = [1] * 4
    view[axis] = -1
    np.testing.assert_array_equal(out, weights * scales.reshape(view))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("axis", [0, 2])
def test_dequantize_per_axis_runtime_matches_litert(dtype, axis):
    rng = np.random.default_rng(axis)
    shape = (3, 4, 5)
    zero_points = rng.integers(-10, 10, shape[axis]) + (128 if dtype == np.uint8 else 0)
    quant = QuantParams(rng.uniform(1e-3, 0.1, shape[axis]), zero_points, axis=axis)
    graph = quant_graph("DEQUANTIZE", shape, dtype, np.float32, in_quant=quant)
    x = rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max + 1, shape).astype(dtype)
    assert_matches_litert_and_jax(graph, [x], rtol=0, atol=0)


def test_dequantize_float16_constant_matches_litert():
    weights = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float16)
    graph = const_dequantize_add_graph(weights)
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    (out,) = assert_matches_litert(graph, [x], rtol=0, atol=0)
    np.testing.assert_array_equal(out, weights.astype(np.float32) + x)


def test_dequantize_without_quant_params_is_refused():
    graph = quant_graph("DEQUANTIZE", (4,), np.int8, np.float32)
    with pytest.raises(UnsupportedOpError, match="DEQUANTIZE.*without quantization"):
        bind_kernels(graph)


# --- QUANTIZE ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype,scale,zero_point", [
    (np.int8, 0.05, -3), (np.int8, 0.1, 0), (np.uint8, 0.02, 128), (np.uint8, 0.25, 7),
    (np.int16, 1e-3, 0),
])
def test_quantize_per_tensor_matches_litert(dtype, scale, zero_point):
    graph = quant_graph("QUANTIZE", (3, 1000), np.float32, dtype,
                        out_quant=per_tensor(scale, zero_point))
    rng = np.random.default_rng(0)
    x = np.concatenate([
        rng.uniform(-40, 40, 1000),                      # far past both ends: clamped
        (rng.integers(-300, 300, 1000) + 0.5) * scale,   # exact halves: away from zero
        rng.uniform(-3, 3, 1000),
    ]).astype(np.float32).reshape(3, 1000)
    assert_matches_litert_and_jax(graph, [x])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_quantize_per_axis_matches_litert(dtype, axis):
    rng = np.random.default_rng(axis)
    shape = (3, 4, 50)
    zero_points = rng.integers(-10, 10, shape[axis]) + (128 if dtype == np.uint8 else 0)
    quant = QuantParams(rng.uniform(0.01, 0.1, shape[axis]), zero_points, axis=axis)
    graph = quant_graph("QUANTIZE", shape, np.float32, dtype, out_quant=quant)
    assert_matches_litert_and_jax(graph, [rng.uniform(-8, 8, shape).astype(np.float32)])


def test_quantize_rounds_halves_away_from_zero():
    graph = quant_graph("QUANTIZE", (1, 6), np.float32, np.int8, out_quant=per_tensor(1.0, 0))
    x = np.array([[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]], np.float32)
    (out,) = assert_matches_litert_and_jax(graph, [x])
    np.testing.assert_array_equal(out, [[-3, -2, -1, 1, 2, 3]])


def test_round_half_away_is_exact_below_one_half():
    x = np.array([0.49999997, -0.49999997, 0.5, -0.5, 2.5, -7.5], np.float32)
    np.testing.assert_array_equal(round_half_away(x), [0, 0, 1, -1, 3, -8])


# Requantize: in_scale/out_scale below, at and above 1; every 8-bit input value.
REQUANT_SCALES = [(0.05, 0.05), (0.05, 0.1), (0.1, 0.03), (0.0173, 0.0211), (0.5, 0.004)]


@pytest.mark.parametrize("scales", REQUANT_SCALES)
@pytest.mark.parametrize("in_dtype,out_dtype,in_zero,out_zero", [
    (np.int8, np.int8, -5, 3), (np.int8, np.uint8, 0, 128), (np.uint8, np.int8, 128, 0),
    (np.uint8, np.uint8, 100, 90), (np.int8, np.uint8, -1, 127),
])
def test_requantize_8bit_matches_litert(in_dtype, out_dtype, in_zero, out_zero, scales):
    graph = quant_graph("QUANTIZE", (1, 256), in_dtype, out_dtype,
                        in_quant=per_tensor(scales[0], in_zero),
                        out_quant=per_tensor(scales[1], out_zero))
    assert_matches_litert_and_jax(graph, [all_values(in_dtype)])


@pytest.mark.parametrize("scales", [(1e-3, 1e-3), (1e-3, 3.7e-3), (2e-4, 1e-4)])
@pytest.mark.parametrize("out_dtype,out_zero", [(np.int8, -4), (np.int16, 0)])
def test_requantize_int16_matches_litert(out_dtype, out_zero, scales):
    graph = quant_graph("QUANTIZE", (1, 4096), np.int16, out_dtype,
                        in_quant=per_tensor(scales[0], 0),
                        out_quant=per_tensor(scales[1], out_zero))
    assert_matches_litert_and_jax(graph, [all_values(np.int16)])


@pytest.mark.parametrize("in_dtype,out_dtype", [(np.int8, np.int16), (np.int16, np.uint8),
                                                (np.int32, np.int8)])
def test_unsupported_requantize_is_refused(in_dtype, out_dtype):
    graph = quant_graph("QUANTIZE", (4,), in_dtype, out_dtype, in_quant=per_tensor(0.1, 0),
                        out_quant=per_tensor(0.1, 0))
    with pytest.raises(UnsupportedOpError, match="QUANTIZE"):
        bind_kernels(graph)


def test_dequantize_quantize_round_trip_in_edgeport():
    scale, zero_point = 0.037, 11
    graph = Graph(name="main")
    graph.add_tensor(Tensor("x", (1, 256), np.int8, quant=per_tensor(scale, zero_point)))
    graph.add_tensor(Tensor("f", (1, 256), np.float32))
    graph.add_tensor(Tensor("y", (1, 256), np.int8, quant=per_tensor(scale, zero_point)))
    graph.add_op(Op("DEQUANTIZE", ["x"], ["f"]))
    graph.add_op(Op("QUANTIZE", ["f"], ["y"]))
    graph.inputs, graph.outputs = ["x"], ["y"]
    x = all_values(np.int8)
    (out,) = run_edgeport(write_tflite(graph), [x])
    np.testing.assert_array_equal(out, x)
    assert_jax_equals(graph, [x], [out])


# --- versions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("in_dtype,quant,version", [
    (np.uint8, per_tensor(0.1, 3), 1), (np.int8, per_tensor(0.1, 0), 2),
    (np.int16, per_tensor(0.1, 0), 3), (np.float16, None, 3),
    (np.int8, QuantParams([0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0], axis=1), 5),
])
def test_dequantize_version(in_dtype, quant, version):
    graph = quant_graph("DEQUANTIZE", (2, 4), in_dtype, np.float32, in_quant=quant)
    assert get_op("DEQUANTIZE").version(graph.ops[0], graph) == version


@pytest.mark.parametrize("in_dtype,out_dtype,quant,version", [
    (np.float32, np.int8, per_tensor(0.1, 0), 1), (np.float32, np.uint8, per_tensor(0.1, 9), 1),
    (np.float32, np.int16, per_tensor(0.1, 0), 2), (np.int8, np.uint8, per_tensor(0.1, 0), 1),
    (np.float32, np.int8, QuantParams([0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0], axis=1), 3),
])
def test_quantize_version(in_dtype, out_dtype, quant, version):
    graph = quant_graph("QUANTIZE", (2, 4), in_dtype, out_dtype,
                        in_quant=per_tensor(0.1, 0) if in_dtype != np.float32 else None,
                        out_quant=quant)
    assert get_op("QUANTIZE").version(graph.ops[0], graph) == version
