"""Quantized single-op models for the integer-kernel tests: like tests/opmodels.py, but every
tensor may carry QuantParams, and outputs are compared with LiteRT's reference kernels
(BUILTIN_REF) bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeport.export.tflite import write_tflite
from edgeport.graph import Graph, Op, QuantParams, Tensor
from edgeport.shapes import bind_kernels, infer_specs
from tests.oracles.litert import run_edgeport, run_litert


@dataclass
class QInput:
    """A runtime input of ``shape`` and ``dtype``, quantized with ``quant`` (None: plain)."""

    shape: tuple
    dtype: type = np.int8
    quant: QuantParams | None = None


@dataclass
class QConst:
    """A constant ``value``, quantized with ``quant`` (None: plain, e.g. a shape or axis)."""

    value: np.ndarray
    quant: QuantParams | None = None


def qp(scale, zero_point=0, axis: int = 0) -> QuantParams:
    """QuantParams from scalars (per tensor) or sequences (per axis)."""
    return QuantParams(np.atleast_1d(scale), np.atleast_1d(zero_point), axis)


def quant_graph(op_type: str, inputs: list, attrs: dict | None = None,
                outputs: list | None = None) -> Graph:
    """A graph holding one ``op_type`` op; ``inputs`` are QInput, QConst or None (absent),
    ``outputs`` (dtype, QuantParams | None) pairs (default: one int8 output, no params)."""
    graph = Graph(name="main")
    names = []
    for i, spec in enumerate(inputs):
        if spec is None:
            names.append(None)
            continue
        name = f"in{i}"
        if isinstance(spec, QInput):
            graph.add_tensor(Tensor(name, spec.shape, spec.dtype, quant=spec.quant))
            graph.inputs.append(name)
        else:
            value = np.asarray(spec.value)
            graph.add_tensor(Tensor(name, value.shape, value.dtype, value, quant=spec.quant))
        names.append(name)
    outputs = outputs or [(np.int8, None)]
    out_names = [f"out{i}" for i in range(len(outputs))]
    for name, (dtype, quant) in zip(out_names, outputs):
        graph.add_tensor(Tensor(name, (), dtype, quant=quant))
    op = graph.add_op(Op(op_type, names, out_names, dict(attrs or {})))
    graph.outputs = out_names
    specs = infer_specs(graph, bind_kernels(graph))
    for name in op.outputs:
        graph.tensors[name].shape = specs[name].shape
    return graph


def random_quantized(graph: Graph, seed: int = 0) -> list[np.ndarray]:
    """Uniform values over each runtime input's whole integer range."""
    rng = np.random.default_rng(seed)
    values = []
    for name in graph.inputs:
        t = graph.tensors[name]
        if np.issubdtype(t.dtype, np.integer):
            info = np.iinfo(t.dtype)
            values.append(rng.integers(info.min, info.max + 1, t.shape).astype(t.dtype))
        else:
            values.append(rng.uniform(-3, 3, t.shape).astype(t.dtype))
    return values


def assert_bit_exact(graph: Graph, inputs: list | None = None, seed: int = 0,
                     reference: bool = True):
    """Run ``graph`` in LiteRT (BUILTIN_REF; the default resolver with ``reference`` False,
    for data-movement ops whose version BUILTIN_REF lacks) and in edgeport: outputs must be
    equal."""
    model = write_tflite(graph)
    inputs = random_quantized(graph, seed) if inputs is None else inputs
    expected = run_litert(model, inputs, reference=reference)
    actual = run_edgeport(model, inputs)
    assert len(expected) == len(actual)
    for want, got in zip(expected, actual):
        assert got.shape == want.shape, f"shape {got.shape} != LiteRT's {want.shape}"
        assert got.dtype == want.dtype, f"dtype {got.dtype} != LiteRT's {want.dtype}"
        np.testing.assert_array_equal(got, want)
    return actual


def weights_int8(rng, shape, axis: int | None, scale_range=(1e-3, 2e-2)):
    """Symmetric int8 weights in [-127, 127] with per-axis (``axis``) or per-tensor scales."""
    w = rng.integers(-127, 128, shape).astype(np.int8)
    n = 1 if axis is None else shape[axis]
    scales = rng.uniform(*scale_range, n).astype(np.float32)
    return w, qp(scales, np.zeros(n, np.int64), axis or 0)


def bias_int32(rng, n: int, in_scale, w_quant: QuantParams, spread: float = 2000):
    """An int32 bias for ``n`` output channels at scale s_in * s_w[c], zero point 0."""
    scales = np.float32(in_scale) * w_quant.scale
    b = rng.integers(-spread, spread + 1, n).astype(np.int32)
    return b, qp(scales, np.zeros(scales.size, np.int64), 0)
