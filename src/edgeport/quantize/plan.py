"""The quantization plan: for a float graph, which ops compute on int8 and on which int8 grid
every float tensor they read and write lies. Post-training quantization (ptq.py) materializes
the plan with calibrated ranges; quantization-aware training (edgeport.qat) fake-quantizes
along it with learned ranges. One plan for both is what makes a QAT model and its int8 export
agree by construction.

A *grid* is symbolic until ranges are known:
- `RangeGrid(tensor)`: asymmetric int8 per tensor from ``tensor``'s calibrated (or learned)
  range, widened as TFLite's converter widens it (`observers.quantization_range`);
- `FixedGrid(scale, zero_point)`: known now (the spec's SOFTMAX/LOGISTIC/TANH outputs, and a
  constant's grid from its own range);
- `WeightGrid(axis)`: symmetric int8 from the weights' own values, per output channel
  (``axis``) or per tensor (None);
- `BiasGrid(data, weights)`: int32 at ``s_in * s_w``, the scales of the op's inputs ``data``
  and ``weights`` (indices).

Each op's rule (`OpDef.quant`, edgeport.ops.quant_rules) decides its grids: a weighted op's
weights and bias as above, other inputs on their own grid; `SameAsInput` ops read later inputs
on the first one's grid and write on it; `Shared` ops read every input on the output's range;
`Fixed` ops write on their fixed grid. What only calibration can tell stays in ptq.py: an op
whose kernel needs a coarser input grid than calibration gave (SOFTMAX of near-constant
logits) reads a requantized copy there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import Graph, Op, QuantParams
from ..ops.activations import INTEGER_ACTIVATIONS
from ..ops.quant_rules import Fixed, SameAsInput, Shared
from . import recurrent, rules
from .observers import quantization_range
from .weights_only import denied

F32 = np.dtype(np.float32)


@dataclass
class Int8Options:
    """What full-integer quantization does beyond the spec's defaults."""

    per_channel: bool = True
    per_channel_dense: bool = True
    input_type: np.dtype = F32
    output_type: np.dtype = F32
    integer_only: bool = False
    denylisted_ops: frozenset = field(default_factory=frozenset)
    denylisted_nodes: frozenset = field(default_factory=frozenset)

    def weights_axis(self, op: Op, axis: int) -> int | None:
        """The per-channel axis of ``op``'s weights, or None for per-tensor weights."""
        return rules.weights_axis(op.type, axis, self.per_channel, self.per_channel_dense)


@dataclass(frozen=True)
class RangeGrid:
    """The grid of ``tensor``'s calibrated or learned range."""

    tensor: str


@dataclass(frozen=True)
class FixedGrid:
    """A grid known before calibration."""

    scale: float
    zero_point: int

    @classmethod
    def of(cls, params: QuantParams) -> "FixedGrid":
        return cls(float(params.scale[0]), int(params.zero_point[0]))


@dataclass(frozen=True)
class WeightGrid:
    """Symmetric int8 weights, per channel along ``axis`` (per tensor when None)."""

    axis: int | None


@dataclass(frozen=True)
class BiasGrid:
    """An int32 bias at the product of the scales of inputs ``data`` and ``weights``."""

    data: int
    weights: int


@dataclass
class OpPlan:
    """One op's part of the plan. ``reason``: why it stays float (None: it computes on int8;
    "": it has no float tensors). ``inputs`` / ``outputs``: input or output index -> its
    grid, for the float tensors of an int8 op. ``zero_bias``: the int8 kernel needs a bias
    input the float op lacks (a zero one is written)."""

    op: Op
    reason: str | None
    inputs: dict[int, object] = field(default_factory=dict)
    outputs: dict[int, object] = field(default_factory=dict)
    zero_bias: bool = False

    @property
    def integer(self) -> bool:
        return self.reason is None


@dataclass
class QuantPlan:
    """The plan of a graph: its ops in topological order, and ``grid``: float tensor -> the
    grid its int8 version is made on (a graph input's or float op's output: its own range;
    an int8 op's output: the grid the op writes)."""

    graph: Graph
    ops: list[OpPlan]
    grid: dict[str, object]

    @property
    def learned(self) -> list[str]:
        """The tensors whose ranges the plan uses (what calibration or training must set)."""
        return list(dict.fromkeys(g.tensor for g in self.grid.values()
                                  if isinstance(g, RangeGrid)))

    def ranges_for_conversion(self, ranges: dict[str, tuple[float, float]]) -> dict:
        """``{tensor: (min, max)}`` for `quantize_int8` from the plan's ``ranges``: every
        tensor the range of its grid (a fixed grid's whole span)."""
        spans = {}
        for name, grid in self.grid.items():
            if isinstance(grid, RangeGrid):
                spans[name] = tuple(float(v) for v in ranges[grid.tensor])
            elif isinstance(grid, FixedGrid):
                spans[name] = ((-128 - grid.zero_point) * grid.scale,
                               (127 - grid.zero_point) * grid.scale)
        return spans


def float_reason(op: Op, graph: Graph, ranges, options: Int8Options) -> str | None:
    """Why ``op`` must stay float, or None when it can compute on int8. ``""`` marks an op
    without float tensors, which quantization leaves alone. ``ranges``: the tensors that
    have (or will have) a range."""
    floats_in = [n for n in op.inputs if n is not None and graph.tensors[n].dtype == F32]
    floats_out = [n for n in op.outputs if graph.tensors[n].dtype == F32]
    if not floats_in and not floats_out:
        return ""
    if denied(op, options.denylisted_ops, options.denylisted_nodes):
        return "denylisted"
    if op.type == "IF":
        return recurrent.float_reason(op, graph, ranges)
    if op.is_custom or not rules.has_integer_kernel(op.type):
        return "edgeport has no int8 kernel for it"
    activation = op.attrs.get("fused_activation_function", "NONE")
    if activation not in INTEGER_ACTIVATIONS:
        return f"its fused activation {activation} has no integer form"
    if floats_out and not any(not graph.tensors[n].is_constant for n in floats_in):
        return "it makes float values from non-float inputs"
    weights, _, bias, _ = rules.weighted_inputs(op.type)
    if weights is not None:
        for index in (weights, bias):
            name = op.inputs[index] if index < len(op.inputs) else None
            if name is not None and not graph.tensors[name].is_constant:
                return "its weights are not constant"
    missing = [n for n in floats_in + floats_out
               if not graph.tensors[n].is_constant and n not in ranges]
    if missing:
        return f"tensor {missing[0]!r} has no calibrated range"
    return None


def _float_islands(graph: Graph, order: list[Op], reasons: dict) -> dict:
    """``reasons`` with the ops that sit among float ops kept float: an op without weights
    whose inputs all come from ops that stay float (or are constants) and whose outputs only
    float ops read would gain nothing from int8 but a QUANTIZE before it and a DEQUANTIZE
    after it (the zero initial state a recurrent layer's IF takes is made so). A weighted op
    is quantized even there: its int8 weights are a quarter of the size."""
    producer, consumers = graph.producers(), graph.consumers()
    reasons = dict(reasons)
    for op in order:
        if reasons[id(op)] is not None or rules.weighted_inputs(op.type)[0] is not None:
            continue
        sources = [producer.get(n) for n in op.inputs
                   if n is not None and not graph.tensors[n].is_constant]
        readers = [c for n in op.outputs for c in consumers.get(n, [])]
        if (sources and all(p is not None and reasons[id(p)] not in (None, "")
                            for p in sources)
                and readers and all(reasons[id(c)] not in (None, "") for c in readers)
                and not set(op.outputs) & set(graph.outputs)):
            reasons[id(op)] = "only float ops feed it and read it"
    return reasons


def plan(graph: Graph, ranges, options: Int8Options) -> QuantPlan:
    """The `QuantPlan` of ``graph``; ``ranges``: the tensors that have a range (a dict of
    calibrated ranges, or any collection of names)."""
    order = graph.topological_order()
    grid = {name: RangeGrid(name) for name in graph.inputs
            if graph.tensors[name].dtype == F32}
    reasons = _float_islands(graph, order, {id(op): float_reason(op, graph, ranges, options)
                                            for op in order})
    for op in order:
        if op.type == "IF" and reasons[id(op)] is None:
            for maker in recurrent.replaceable_initial_states(op, graph):
                reasons[id(maker)] = recurrent.REPLACED
    steps = []
    for op in order:
        step = OpPlan(op, reasons[id(op)])
        if step.integer:
            _plan_integer_op(step, graph, grid, options)
        for j, name in enumerate(op.outputs):
            if graph.tensors[name].dtype == F32:
                grid[name] = step.outputs.get(j, RangeGrid(name))
        steps.append(step)
    return QuantPlan(graph, steps, grid)


def _plan_integer_op(step: OpPlan, graph: Graph, grid: dict, options: Int8Options) -> None:
    """Fill in the grids of an int8 op (see the module doc)."""
    op = step.op
    if op.type == "IF":  # an integer LSTM's call (recurrent.py): the sequence in, the output
        step.inputs[1] = grid[op.inputs[1]]
        step.outputs[0] = RangeGrid(op.outputs[0])
        return
    rule = rules.quant_rule(op.type)
    weights, axis, bias, data = rules.weighted_inputs(op.type)
    shared = RangeGrid(op.outputs[0]) if isinstance(rule, Shared) else None
    for i, name in enumerate(op.inputs):
        if name is None or graph.tensors[name].dtype != F32:
            continue
        tensor = graph.tensors[name]
        if i == bias:
            step.inputs[i] = BiasGrid(data, weights)
            continue
        if tensor.is_constant and i == weights:
            step.inputs[i] = WeightGrid(options.weights_axis(op, axis))
        elif tensor.is_constant:
            step.inputs[i] = shared or FixedGrid.of(rules.constant_params(tensor.data))
        else:
            step.inputs[i] = shared or grid[name]
        if isinstance(rule, SameAsInput) and shared is None:
            shared = step.inputs[i]
    step.zero_bias = (weights is not None and rule.needs_bias
                      and (bias >= len(op.inputs) or op.inputs[bias] is None))
    for j, name in enumerate(op.outputs):
        if graph.tensors[name].dtype != F32:
            continue
        if isinstance(rule, Fixed):
            step.outputs[j] = FixedGrid.of(rule.params())
        else:
            step.outputs[j] = shared or RangeGrid(name)


def grid_params(grid, ranges: dict[str, tuple[float, float]]) -> QuantParams:
    """The int8 parameters of an activation or constant grid, given calibrated ``ranges``."""
    if isinstance(grid, FixedGrid):
        return QuantParams([np.float32(grid.scale)], [grid.zero_point])
    return rules.activation_params(*quantization_range(*ranges[grid.tensor]))
