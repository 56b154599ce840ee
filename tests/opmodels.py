"""Single-op models for kernel tests: build one op with edgeport's writer, run it in LiteRT
and in edgeport, compare.

``inputs`` entries are `Input(shape, dtype, quant)` for a runtime input, a NumPy array or a
`Const(value, quant)` for a constant, or None for an absent optional input. Output shapes come from edgeport's own shape inference;
LiteRT recomputes them, so a wrong shape rule shows up as a shape mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeport.export.tflite import write_tflite
from edgeport.graph import Graph, Op, QuantParams, Tensor
from edgeport.runtime.kernels import bind_kernels
from edgeport.shapes import infer_specs
from tests.oracles.litert import run_edgeport, run_edgeport_jax, run_litert


@dataclass
class Input:
    """A runtime input of ``shape`` and ``dtype``, quantized with ``quant`` (None: plain)."""

    shape: tuple
    dtype: type = np.float32
    quant: QuantParams | None = None


@dataclass
class Const:
    """A constant ``value``, quantized with ``quant`` (None: plain, e.g. a shape or axis)."""

    value: np.ndarray
    quant: QuantParams | None = None


def op_graph(op_type: str, inputs: list, attrs: dict | None = None, n_outputs: int = 1,
             output_dtypes: list | None = None, output_quants: list | None = None) -> Graph:
    """A graph holding one ``op_type`` op over ``inputs``. Output dtypes are inferred unless
    given (a quantized output's dtype must be given, with its QuantParams)."""
    graph = Graph(name="main")
    names = []
    for i, spec in enumerate(inputs):
        if spec is None:
            names.append(None)
            continue
        name = f"in{i}"
        if isinstance(spec, Input):
            graph.add_tensor(Tensor(name, spec.shape, spec.dtype, quant=spec.quant))
            graph.inputs.append(name)
        else:
            value, quant = (spec.value, spec.quant) if isinstance(spec, Const) else (spec, None)
            value = np.asarray(value)
            graph.add_tensor(Tensor(name, value.shape, value.dtype, value, quant=quant))
        names.append(name)
    outputs = [f"out{i}" for i in range(n_outputs)]
    for i, name in enumerate(outputs):
        dtype = output_dtypes[i] if output_dtypes else np.float32
        graph.add_tensor(Tensor(name, (), dtype, quant=output_quants[i] if output_quants else None))
    op = graph.add_op(Op(op_type, names, outputs, dict(attrs or {})))
    graph.outputs = outputs
    specs = infer_specs(graph, bind_kernels(graph))
    for name in op.outputs:
        graph.tensors[name].shape = specs[name].shape
        if not output_dtypes:
            graph.tensors[name].dtype = specs[name].dtype
    return graph


def random_inputs(graph: Graph, seed: int = 0, low: float = -3, high: float = 3):
    rng = np.random.default_rng(seed)
    values = []
    for name in graph.inputs:
        t = graph.tensors[name]
        if np.issubdtype(t.dtype, np.floating):
            values.append(rng.uniform(low, high, t.shape).astype(t.dtype))
        elif t.dtype == np.bool_:
            values.append(rng.integers(0, 2, t.shape).astype(bool))
        else:
            values.append(rng.integers(low, high, t.shape).astype(t.dtype))
    return values


def assert_matches_litert(graph: Graph, inputs: list | None = None, rtol: float = 1e-5,
                          atol: float = 1e-5, reference: bool = True, bits: bool = False):
    """Run ``graph`` in LiteRT and in edgeport; outputs must agree in shape, dtype and value
    (with ``bits``, float outputs to the bit: the sign of zero and NaN payloads included).
    A graph of plain (not quantized) tensors also runs on edgeport's jax backend, which must
    agree with edgeport's NumPy results (`assert_jax_agrees`)."""
    model = write_tflite(graph)
    inputs = random_inputs(graph) if inputs is None else inputs
    expected = run_litert(model, inputs, reference=reference)
    actual = run_edgeport(model, inputs)
    if not any(t.quant is not None for t in graph.tensors.values()):
        assert_jax_agrees(model, inputs, actual)
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual):
        assert got.shape == want.shape, f"shape {got.shape} != LiteRT's {want.shape}"
        assert got.dtype == want.dtype, f"dtype {got.dtype} != LiteRT's {want.dtype}"
        if bits:
            np.testing.assert_array_equal(got.view(f"u{got.itemsize}"),
                                          want.view(f"u{want.itemsize}"))
        elif np.issubdtype(want.dtype, np.floating):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
        else:
            np.testing.assert_array_equal(got, want)
    return actual


def assert_jax_agrees(model: bytes, inputs: list, expected: list) -> None:
    """edgeport's jax backend gives ``expected`` (edgeport's NumPy outputs): the same dtypes,
    shapes, non-finite values and integers, and floats within 1e-4 of each output's largest
    finite magnitude. XLA flushes subnormal floats to zero, so inputs holding some are compared
    with NumPy's outputs for the inputs flushed."""
    flushed = [flush_subnormals(x) for x in inputs]
    if any(f is not x for f, x in zip(flushed, inputs)):
        expected = run_edgeport(model, flushed)
    outputs, _ = run_edgeport_jax(model, inputs)
    for got, want in zip(outputs, expected, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        if not np.issubdtype(want.dtype, np.floating):
            np.testing.assert_array_equal(got, want)
            continue
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[~finite], want[~finite])
        scale = float(np.abs(want[finite]).max(initial=0.0))
        np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=1e-4 * scale)


def flush_subnormals(x: np.ndarray) -> np.ndarray:
    """``x`` with its subnormal floats replaced by zeros of their sign (``x`` itself if it
    has none)."""
    if not np.issubdtype(x.dtype, np.floating):
        return x
    subnormal = (x != 0) & (np.abs(x) < np.finfo(x.dtype).tiny)
    return np.where(subnormal, np.copysign(np.zeros_like(x), x), x) if subnormal.any() else x
