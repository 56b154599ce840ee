"""Quantized single-op models for the integer-kernel tests: like tests/opmodels.py, but every
tensor may carry QuantParams, and outputs are compared with LiteRT's reference kernels
(BUILTIN_REF) bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgeport.export.tflite import write_tflite
from edgeport.graph import Graph, QuantParams
from edgeport.ops.registry import is_traceable
from edgeport.runtime.kernels import bind_kernels
from tests.opmodels import Const, Input, assert_matches_litert, op_graph
from tests.oracles.litert import run_edgeport_jax


@dataclass
class QInput(Input):
    """A runtime input, int8 unless said otherwise, quantized with ``quant`` (None: plain)."""

    dtype: type = np.int8


QConst = Const


def qp(scale, zero_point=0, axis: int = 0) -> QuantParams:
    """QuantParams from scalars (per tensor) or sequences (per axis)."""
    return QuantParams(np.atleast_1d(scale), np.atleast_1d(zero_point), axis)


def quant_graph(op_type: str, inputs: list, attrs: dict | None = None,
                outputs: list | None = None) -> Graph:
    """A graph holding one ``op_type`` op; ``inputs`` are QInput, QConst or None (absent),
    ``outputs`` (dtype, QuantParams | None) pairs (default: one int8 output, no params)."""
    outputs = outputs or [(np.int8, None)]
    return op_graph(op_type, inputs, attrs, len(outputs), [d for d, _ in outputs],
                    [q for _, q in outputs])


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
    equal. Where the op's integer kernel is traceable, edgeport's jax backend must run it in
    jax and give the same bits."""
    inputs = random_quantized(graph, seed) if inputs is None else inputs
    actual = assert_matches_litert(graph, inputs, rtol=0, atol=0, reference=reference)
    if all(is_traceable(kernel) for kernel in bind_kernels(graph).values()):
        assert_jax_equals(graph, inputs, actual)
    return actual


def assert_jax_equals(graph: Graph, inputs: list, expected: list) -> None:
    """The jax backend runs every op of ``graph`` in jax and its outputs equal ``expected``
    (the NumPy interpreter's) in dtype and value."""
    outputs, report = run_edgeport_jax(write_tflite(graph), inputs)
    assert {p.kernel for p in report.ops} == {"jax"}, report.ops
    for got, want in zip(outputs, expected):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


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
