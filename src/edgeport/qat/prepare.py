"""What `edgeport.qat.prepare` builds a trainable, fake-quantized copy of a float model from:
its float graph (`load_float_graph`), the quantization plan it trains along (`qat_plan`) and
the jax forward pass along that plan (`forward_function`).

The model (a .keras/.h5/.tflite path, a live Keras model, or a `Graph`) becomes edgeport's
float IR through the converter's passes (batch norms folded into the convolutions, activations
fused) and `quantize.prepare_float`; the caller's model is never changed. The plan is the one
`quantize.quantize_int8` materializes (quantize/plan.py), so training sees the exported
model's arithmetic: the ops it puts on int8 get fake quantization on the grids it names (their
float inputs where they arrive on another grid, their weights, their bias, their outputs);
the ops it leaves float run float. The trainable parameters are the weights and biases of the
int8 ops. The forward pass walks the graph with the ops' ``run_jax`` kernels.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import QuantizationError
from ..graph import Graph
from ..ops import get_op
from ..quantize.plan import BiasGrid, FixedGrid, Int8Options, QuantPlan, WeightGrid, plan

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


def qat_plan(graph: Graph, options: Int8Options) -> QuantPlan:
    """The quantization plan of ``graph`` for quantize_int8 with ``options``, every
    activation to have a learned range; QuantizationError for an op jax cannot run."""
    from ..quantize import activation_tensors

    for op in graph.ops:
        definition = None if op.is_custom else get_op(op.type)
        if definition is None or not definition.traces:
            raise QuantizationError(f"{op.label} has no jax kernel: quantization-aware "
                                    "training cannot run through it")
    return plan(graph, set(activation_tensors(graph)), options)


def trainable_weights(p: QuantPlan) -> dict[str, int | None]:
    """The tensors training updates, the weights and biases of the int8 ops: tensor ->
    the per-channel axis of its quantization (None: per tensor, or a bias)."""
    trainable = {}
    for step in p.ops:
        for i, grid in step.inputs.items():
            if isinstance(grid, WeightGrid):
                trainable[step.op.inputs[i]] = grid.axis
            elif isinstance(grid, BiasGrid):
                trainable[step.op.inputs[i]] = None
    return trainable


def grid_scale(grid, ranges: dict):
    """The scale of an activation or constant grid, as a jax scalar."""
    from .fakequant import activation_grid

    if isinstance(grid, FixedGrid):
        return grid.scale
    lo, hi = ranges[grid.tensor][0], ranges[grid.tensor][1]
    return activation_grid(lo, hi)[0]


def apply_grid(x, grid, ranges: dict):
    """``x`` fake-quantized on an activation or constant grid."""
    from .fakequant import fake_quant_fixed, fake_quant_range

    if isinstance(grid, FixedGrid):
        return fake_quant_fixed(x, grid.scale, grid.zero_point)
    r = ranges[grid.tensor]
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
    ops = [step.op for step in p.ops]
    program = [(get_op(op.type), op.attrs, op.inputs, op.outputs) for op in ops]
    floats = {n for op in ops for n in op.inputs
              if n is not None and g.tensors[n].is_constant and g.tensors[n].dtype == F32}
    constants = {n: g.tensors[n].data for n in floats}
    static = {n: t.data for n, t in g.tensors.items() if t.is_constant and n not in floats}
    learned = set(p.learned)
    # tensors an int8 op writes, already on their grid when the next op reads them
    written = {step.op.outputs[j]: grid for step in p.ops
               for j, grid in step.outputs.items()}
    softmax_inputs = {op.outputs[0]: (op.inputs[0], float(op.attrs.get("beta", 1.0)))
                      for op in ops if op.type == "SOFTMAX"}

    def fake_quant_inputs(step, values, ranges):
        w_scales = {}
        for i, grid in step.inputs.items():
            name = step.op.inputs[i]
            if isinstance(grid, WeightGrid):
                values[i], w_scales[i] = fake_quant_weights(values[i], grid.axis)
            elif not isinstance(grid, BiasGrid) and written.get(name) != grid:
                values[i] = apply_grid(values[i], grid, ranges)
        for i, grid in step.inputs.items():
            if isinstance(grid, BiasGrid):  # after the weights: needs their scale
                in_scale = grid_scale(step.inputs[grid.data], ranges)
                values[i] = fake_quant_bias(values[i], in_scale, w_scales[grid.weights])

    def forward(params, ranges, inputs, quantize=True, keep=False, feed=None):
        env = dict(static)
        env.update({n: jnp.asarray(v) for n, v in constants.items()})
        env.update(params)
        observed = {}

        def observe(name, value):
            if name in learned:
                observed[name] = jnp.stack([jnp.min(value), jnp.max(value)])

        for name, value in zip(g.inputs, inputs):
            env[name] = value
            observe(name, value)
        for step, (definition, attrs, names, results) in zip(p.ops, program):
            values = [None if n is None else feed[n] if feed and n in feed else env[n]
                      for n in names]
            if quantize and step.integer:
                fake_quant_inputs(step, values, ranges)
            outs = run_jax_op(definition, attrs, values)
            for j, name in enumerate(results):
                value = outs[j]
                observe(name, value)
                grid = step.outputs.get(j)
                if quantize and grid is not None:
                    value = apply_grid(value, grid, ranges)
                env[name] = value
        if keep:
            return {n: env[n] for n in [*g.inputs, *(o for op in ops for o in op.outputs)]}, \
                None, observed
        outputs = [env[n] for n in g.outputs]
        logits = []
        for name in g.outputs:
            source = softmax_inputs.get(name)
            logits.append(None if source is None else env[source[0]] * source[1])
        return outputs, logits, observed

    return forward
