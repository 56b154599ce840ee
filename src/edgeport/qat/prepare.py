"""What `edgeport.qat.prepare` builds a trainable, fake-quantized copy of a float model from:
its float graph (`load_float_graph`), the plan of its fake quantization (`plan`) and the jax
forward pass along that plan (`forward_function`).

The model (a .keras/.h5/.tflite path, a live Keras model, or a `Graph`) becomes edgeport's
float IR through the converter's passes (batch norms folded into the convolutions, activations
fused) and `quantize.prepare_float`; the caller's model is never changed. Then a `QuantPlan`
says, for that graph, exactly what `quantize.quantize_int8` will do, so that training sees the
exported model's arithmetic:
- the ops `ptq.float_reason` lets compute on int8 get fake quantization on their float
  inputs (where they come from outside int8), their weights (symmetric int8, per channel unless
  ``per_channel=False``), their bias (int32 at s_in * s_w) and their outputs;
- an output is on its own learned range, the spec's fixed grid (SOFTMAX, LOGISTIC, TANH ...),
  its input's grid (`SameAsInput`: pools, reshapes, pads), or, for `Shared` ops
  (CONCATENATION ...), the output's range, to which every input is requantized;
- ops that stay float (no int8 kernel, a fused activation with no integer form) run float.
The forward pass walks the graph with the ops' ``run_jax`` kernels.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ..errors import QuantizationError
from ..graph import Graph
from ..ops import get_op
from ..ops.quant_rules import Fixed, SameAsInput, Shared
from ..quantize import rules
from ..quantize.ptq import Int8Options, float_reason

F32 = np.dtype(np.float32)


def load_float_graph(model) -> Graph:
    """edgeport's optimized float graph of ``model`` (never the caller's object)."""
    from ..frontends import load
    from ..passes import optimize
    from ..quantize import prepare_float

    graph = copy.deepcopy(model) if isinstance(model, Graph) else load(model)
    graph = prepare_float(optimize(graph))
    if len(graph.inputs) < 1 or not graph.outputs:
        raise QuantizationError("the model has no inputs or no outputs to train")
    return graph


@dataclass
class QuantPlan:
    """Where the fake quantization goes. A *grid* is ``("range", key)`` (the learned range
    of tensor ``key``) or ``("fixed", scale, zero)``."""

    graph: Graph
    ops: list                                          # topological order
    integer: list[bool]                                # per op: computes on int8
    grid: dict[str, tuple] = field(default_factory=dict)      # tensor -> its int8 grid
    inputs: dict[tuple, tuple] = field(default_factory=dict)  # (op, input) -> how to fake-quant
    outputs: dict[tuple, tuple] = field(default_factory=dict)  # (op, output) -> grid
    weights: dict[str, int | None] = field(default_factory=dict)  # trainable: axis (None bias)
    learned: list[str] = field(default_factory=list)   # tensors with a learned range
    constants: dict[str, np.ndarray] = field(default_factory=dict)  # float constants as run

    def ranges_for_conversion(self, learned: dict[str, tuple[float, float]]) -> dict:
        """``{tensor: (min, max)}`` for `quantize_int8`, every tensor on its grid's range."""
        ranges = {}
        for name, grid in self.grid.items():
            if grid[0] == "range":
                ranges[name] = tuple(float(v) for v in learned[grid[1]])
            else:
                _, scale, zero = grid
                ranges[name] = ((-128 - zero) * scale, (127 - zero) * scale)
        return ranges


def plan(graph: Graph, options: Int8Options) -> QuantPlan:
    """The `QuantPlan` of ``graph`` for quantize_int8 with ``options`` (see the module doc)."""
    from ..quantize import activation_tensors

    activations = activation_tensors(graph)
    everything = {n: (0.0, 1.0) for n in activations}
    order = graph.topological_order()
    integer = [float_reason(op, graph, everything, options) is None for op in order]
    p = QuantPlan(graph, order, integer)
    produced_int8 = set()
    for name in graph.inputs:
        if name in everything:
            p.grid[name] = ("range", name)
    for index, (op, is_int) in enumerate(zip(order, integer)):
        definition = None if op.is_custom else get_op(op.type)
        if definition is None or not definition.traces:
            raise QuantizationError(f"{op.label} has no jax kernel: quantization-aware "
                                    "training cannot run through it")
        for i, name in enumerate(op.inputs):
            t = None if name is None else graph.tensors[name]
            if t is not None and t.is_constant and t.dtype == F32:
                p.constants[name] = t.data
        outs = [n for n in op.outputs if n in everything]
        if not is_int:
            for name in outs:
                p.grid[name] = ("range", name)
            continue
        rule = rules.quant_rule(op.type)
        weights, axis, bias, data = rules.weighted_inputs(op.type)
        shared_out = ("range", op.outputs[0]) if isinstance(rule, Shared) else None
        same = None
        for i, name in enumerate(op.inputs):
            if name is None or graph.tensors[name].dtype != F32:
                continue
            t = graph.tensors[name]
            if t.is_constant:
                if i == weights:
                    channel = options.per_channel and (options.per_channel_dense
                                                       or op.type != "FULLY_CONNECTED")
                    p.weights[name] = axis if channel else None
                    p.inputs[(index, i)] = ("weights", p.weights[name])
                elif i == bias:
                    p.weights[name] = None
                    p.inputs[(index, i)] = ("bias", op.inputs[data], op.inputs[weights])
                else:
                    quant = rules.constant_params(t.data)
                    p.inputs[(index, i)] = shared_out or (
                        "fixed", float(quant.scale[0]), int(quant.zero_point[0]))
                continue
            if shared_out is not None:
                p.inputs[(index, i)] = shared_out
            elif name not in produced_int8:
                p.inputs[(index, i)] = p.grid[name]
            if isinstance(rule, SameAsInput) and same is None:
                same = p.grid[name]
        for j, name in enumerate(op.outputs):
            if name not in everything:
                continue
            if isinstance(rule, Fixed):
                grid = ("fixed", float(np.float32(rule.scale)), rule.zero_point)
            else:
                grid = shared_out or same or ("range", name)
            p.grid[name] = p.outputs[(index, j)] = grid
            produced_int8.add(name)
    p.learned = list(dict.fromkeys(g[1] for g in p.grid.values() if g[0] == "range"))
    return p


def grid_scale(grid: tuple, ranges: dict):
    """The scale of a grid, as a jax scalar."""
    from .fakequant import activation_grid

    if grid[0] == "fixed":
        return grid[1]
    lo, hi = ranges[grid[1]][0], ranges[grid[1]][1]
    return activation_grid(lo, hi)[0]


def apply_grid(x, grid: tuple, ranges: dict):
    from .fakequant import fake_quant_fixed, fake_quant_range

    if grid[0] == "fixed":
        return fake_quant_fixed(x, grid[1], grid[2])
    r = ranges[grid[1]]
    return fake_quant_range(x, r[0], r[1])


def forward_function(p: QuantPlan):
    """``forward(params, ranges, inputs, quantize, keep) -> (outputs, logits, observed)``:
    ``params`` the trainable weights by tensor name, ``ranges`` {key: [lo, hi]},
    ``inputs`` one array per graph input. ``logits`` holds, for an output written by
    SOFTMAX, the (fake-quantized) input times beta (None otherwise), for a stable
    cross-entropy; ``observed`` {key: [min, max]} of the values each learned range covers,
    before their fake quantization. ``keep=True`` makes ``outputs`` a dict of every tensor
    the ops wrote, as the next ops read it (fake-quantized where the int8 model is int8).
    ``feed`` {tensor: value} overrides what the ops read (each op then runs on given inputs)."""
    import jax.numpy as jnp

    from ..runtime.backends.jax import run_jax_op
    from .fakequant import fake_quant_bias, fake_quant_weights

    g = p.graph
    program = [(get_op(op.type), op.attrs, op.inputs, op.outputs) for op in p.ops]
    static = {n: t.data for n, t in g.tensors.items()
              if t.is_constant and n not in p.constants}
    learned = set(p.learned)
    softmax_inputs = {op.outputs[0]: (op.inputs[0], float(op.attrs.get("beta", 1.0)))
                      for op in p.ops if op.type == "SOFTMAX"}

    def forward(params, ranges, inputs, quantize=True, keep=False, feed=None):
        env = dict(static)
        env.update({n: jnp.asarray(v) for n, v in p.constants.items()})
        env.update(params)
        observed = {}

        def observe(name, value):
            if name in learned:
                observed[name] = jnp.stack([jnp.min(value), jnp.max(value)])

        for name, value in zip(g.inputs, inputs):
            env[name] = value
            observe(name, value)
        w_scales = {}
        for index, (definition, attrs, names, results) in enumerate(program):
            values = [None if n is None else feed[n] if feed and n in feed else env[n]
                      for n in names]
            if quantize and p.integer[index]:
                for i, name in enumerate(names):
                    how = p.inputs.get((index, i))
                    if how is None:
                        continue
                    if how[0] == "weights":
                        values[i], w_scales[name] = fake_quant_weights(values[i], how[1])
                    elif how[0] == "bias":
                        continue  # after the weights: needs their scale
                    else:
                        values[i] = apply_grid(values[i], how, ranges)
                for i, name in enumerate(names):
                    how = p.inputs.get((index, i))
                    if how is not None and how[0] == "bias":
                        in_scale = grid_scale(p.grid[how[1]], ranges)
                        values[i] = fake_quant_bias(values[i], in_scale, w_scales[how[2]])
            outs = run_jax_op(definition, attrs, values)
            for j, name in enumerate(results):
                value = outs[j]
                observe(name, value)
                grid = p.outputs.get((index, j))
                if quantize and grid is not None:
                    value = apply_grid(value, grid, ranges)
                env[name] = value
        if keep:
            return {n: env[n] for n in [*g.inputs, *(o for op in p.ops for o in op.outputs)]}, \
                None, observed
        outputs = [env[n] for n in g.outputs]
        logits = []
        for name in g.outputs:
            source = softmax_inputs.get(name)
            logits.append(None if source is None else env[source[0]] * source[1])
        return outputs, logits, observed

    return forward
