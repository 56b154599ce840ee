"""The jax backend: the same graph, jit-compiled per device segment.

Planning is the NumPy executor's (shape inference, constants folded at load: DEQUANTIZE and
DENSIFY of weights never run per call); then every remaining op is placed
(`edgeport.runtime.placement`) and consecutive ops with the same device and kernel kind form a
segment. A jax segment is one ``jax.jit`` function of its inputs and its constants (put on its
device once), except the constants an op needs at tracing (`OpDef.static_inputs`: shapes,
paddings, axes), which stay NumPy. Ops without a jax kernel run in NumPy segments on the host.
Values crossing segments of different devices are copied explicitly (``jax.device_put``), and
the copies are reported.

Quantized ops run their NumPy integer kernels themselves, traced, where those are written for
both array libraries (`edgeport.ops.registry.traceable`), so their results equal the NumPy
interpreter's to the bit. Their fixed-point arithmetic needs int64 (and exact float64 sums), and
jax narrows 64-bit types to 32 bits unless told otherwise: such ops, and ops with int64 or
float64 tensors, form segments of their own, traced and run with jax's 64-bit types on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ...errors import EdgeportError, GraphError, InterpreterStateError
from ...graph import Graph
from ...ops import get_op
from ...ops.activations import apply_activation
from ...ops.registry import is_integer_op, is_traceable
from ..executor import GraphExecutor, Step
from ..placement import Copy, PlacementReport, canonical_device, place_ops
from .jax_runtime import jax_devices, jax_module


@dataclass
class Segment:
    device: str
    kernel: str                      # "jax" or "numpy"
    stage: int
    x64: bool = False                # run with jax's 64-bit types on (`needs_64_bits`)
    steps: list[Step] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)   # runtime values read from outside
    outputs: list[str] = field(default_factory=list)  # values produced here, needed later
    release: list[str] = field(default_factory=list)  # values dead after this segment
    params: dict = field(default_factory=dict)       # constants, on the device
    fn: object = None                                # the jitted function


def has_jax_kernel(op, graph: Graph, kernel, constants) -> bool:
    """Whether the op can run in jax: its static inputs are among ``constants``, and its
    prepared ``kernel`` is traceable (quantized ops, float16 DEQUANTIZE), or it is a float
    builtin whose ``run_jax`` traces (hybrid ops, with quantized weights, stay on NumPy)."""
    definition = None if op.is_custom else get_op(op.type)
    if definition is None or any(name not in constants
                                 for name in definition.static_input_names(op)):
        return False
    if is_traceable(kernel):
        return True
    if is_integer_op(op, graph) or not definition.traces:
        return False
    return not any(name is not None and graph.tensors[name].quant is not None
                   and graph.tensors[name].dtype.kind in "iu"
                   for name in (*op.inputs, *op.outputs))


def needs_64_bits(op, graph: Graph, specs) -> bool:
    """Whether an op must run with jax's 64-bit types on: a quantized op (int64 fixed-point
    arithmetic), one with an int64 or float64 tensor, or one summing integers in int64."""
    names = [name for name in (*op.inputs, *op.outputs) if name is not None]
    accumulates = getattr(get_op(op.type), "int64_accumulator", False)
    return is_integer_op(op, graph) or any(
        specs[name].dtype.itemsize == 8 and specs[name].dtype.kind in "iuf" for name in names
    ) or (accumulates and specs[op.inputs[0]].dtype.kind in "iu")


def run_jax_op(definition, attrs: dict, inputs: list) -> list:
    """`OpDef.run` for jax: the op's jax kernel, then its fused activation."""
    result = definition.run_jax(attrs, *inputs)
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    activation = attrs.get("fused_activation_function", "NONE")
    if activation != "NONE" and definition.activates_output:
        outputs[0] = apply_activation(outputs[0], activation, definition.name)
    return outputs


class JaxExecutor(GraphExecutor):
    """Runs a graph on jax devices. ``devices``: the devices it may use (default: all);
    ``placement``: {op/layer name or glob: device}; ``assign(steps, specs)``: a strategy's
    {id(op): device}; ``strict``: raise instead of falling back (default: the inverse of
    config.get_soft_device_placement())."""

    def __init__(self, graph: Graph, kernels, source: str = "model",
                 preserve_all_tensors: bool = False, num_threads: int | None = None,
                 devices=None, placement=None, strict: bool | None = None, assign=None):
        super().__init__(graph, kernels, source, preserve_all_tensors, num_threads)
        self.jax = jax_module()
        self.devices = [canonical_device(d) for d in devices] if devices else None
        self.placement = placement
        self.strict = strict
        self.assign = assign
        self.segments: list[Segment] = []
        self.report = PlacementReport()

    # -- planning ---------------------------------------------------------------------------
    def allocate(self) -> None:
        super().allocate()
        named = jax_devices()
        available = self.devices or list(named)
        assigned = self.assign(self.steps, self.specs) if self.assign else None
        kernels = {id(s.op): s.kernel for s in self.steps}
        plans = place_ops([s.op for s in self.steps], available,
                          lambda op: has_jax_kernel(op, self.graph, kernels[id(op)],
                                                    self.constants),
                          self.placement, assigned, self.strict, self.source, list(named))
        stage_of = {d: i for i, d in enumerate(dict.fromkeys((assigned or {}).values()))}
        self.segments = []
        for step, plan in zip(self.steps, plans):
            stage = stage_of.get((assigned or {}).get(id(step.op)), 0)
            x64 = plan.kernel == "jax" and needs_64_bits(step.op, self.graph, self.specs)
            key = (plan.device, plan.kernel, stage, x64)
            if not self.segments or (self.segments[-1].device, self.segments[-1].kernel,
                                     self.segments[-1].stage, self.segments[-1].x64) != key:
                self.segments.append(Segment(*key))
            self.segments[-1].steps.append(step)
        self._link(named)
        self.report = PlacementReport(plans, self._copies())

    def _link(self, named) -> None:
        """Each segment's inputs, outputs, releases and (jax) compiled function."""
        needed_later: set[str] = set(self.graph.outputs) | set(self.state_names)
        for segment in reversed(self.segments):
            reads = [n for s in segment.steps for n in s.inputs if n is not None]
            segment.inputs = _read_before_written(segment.steps, self.constants)
            segment.outputs = [n for n in dict.fromkeys(n for s in segment.steps
                                                        for n in s.outputs)
                               if n in needed_later or self.preserve_all_tensors]
            segment.release = [n for s in segment.steps for n in s.release]
            needed_later |= set(segment.inputs)
            if segment.kernel == "jax":
                constants = {n: self.constants[n] for n in reads if n in self.constants}
                static = {n: constants[n] for n in _static_inputs(segment) if n in constants}
                device = named[segment.device]
                with self.jax.enable_x64(segment.x64):
                    segment.params = {n: self.jax.device_put(v, device)
                                      for n, v in constants.items() if n not in static}
                segment.fn = self.jax.jit(_segment_function(segment, static))

    def _copies(self) -> list[Copy]:
        where = {n: "host" for n in self.graph.inputs}
        copies = []
        for segment in self.segments:
            here = segment.device if segment.kernel == "jax" else "host"
            for name in segment.inputs:
                if where.get(name, here) != here:
                    copies.append(Copy(name, where[name], here, _nbytes(self.specs[name])))
            where.update({n: here for n in segment.outputs})
        return copies

    def placement_report(self) -> PlacementReport:
        if not self.allocated:
            raise InterpreterStateError(f"{self.source}: call allocate_tensors() first")
        return self.report

    # -- running ----------------------------------------------------------------------------
    def run_segments(self, values: dict, segments: list[Segment]) -> None:
        """Run ``segments`` on ``values`` (tensor name -> array), in place."""
        jax, named = self.jax, jax_devices()
        for segment in segments:
            try:
                if segment.kernel == "jax":
                    device = named[segment.device]
                    with jax.default_matmul_precision("highest"), \
                            jax.enable_x64(segment.x64):
                        inputs = {n: jax.device_put(values[n], device) for n in segment.inputs}
                        values.update(segment.fn(segment.params, inputs))
                else:
                    self._run_numpy(values, segment)
            except EdgeportError:
                raise
            except Exception as exc:
                ops = f"{segment.steps[0].op.label} .. {segment.steps[-1].op.label}"
                raise GraphError(f"{self.source}: ops {ops} on {segment.device} failed: "
                                 f"{type(exc).__name__}: {exc}") from exc
            for name in segment.release:
                values.pop(name, None)

    def _run_numpy(self, values: dict, segment: Segment) -> None:
        local = {**self.constants, **{n: np.asarray(values[n]) for n in segment.inputs}}
        with np.errstate(all="ignore"):
            for step in segment.steps:
                results = step.kernel([local[n] if n is not None else None
                                       for n in step.inputs])
                local.update(zip(step.outputs, results))
        values.update({n: local[n] for n in segment.outputs})

    def invoke(self, profile: bool = False) -> None:
        if not self.allocated:
            raise InterpreterStateError(f"{self.source}: call allocate_tensors() before invoke()"
                                        " (and again after resize_tensor_input())")
        start = time.perf_counter()
        values = self.initial_values()
        self.run_segments(values, self.segments)
        self.keep_state(self.to_numpy(values))
        self.op_times = ([time.perf_counter() - start] + [0.0] * (len(self.steps) - 1)
                         if profile and self.steps else None)

    def to_numpy(self, values: dict) -> dict:
        """Values back on the host, as NumPy arrays. Each has its tensor's planned dtype
        (64-bit ones come from segments run with 64-bit types on); one that has not is an
        edgeport bug, raised rather than cast away."""
        known = {**self.constants, **values}
        values.update({n: known[n] for n in self.graph.outputs})
        arrays = {n: np.asarray(v) for n, v in values.items()}
        for name, array in arrays.items():
            if array.dtype != self.specs[name].dtype:
                raise GraphError(f"{self.source}: the jax backend computed {name!r} as "
                                 f"{array.dtype}, not {self.specs[name].dtype} (an edgeport bug)")
        return arrays


def _segment_function(segment: Segment, static: dict):
    """The traced body of a jax segment: its ops in order over an environment of values."""
    program = [(_jax_kernel(step), step.inputs, step.outputs) for step in segment.steps]
    outputs = list(segment.outputs)

    def run(params, inputs):
        env = {**static, **params, **inputs}
        for kernel, names, results in program:
            env.update(zip(results, kernel([env[n] if n is not None else None
                                            for n in names])))
        return {n: env[n] for n in outputs}

    return run


def _read_before_written(steps: list[Step], constants) -> list[str]:
    """The runtime values ``steps`` read from outside: those read before any of them writes
    it (a variable tensor is read, then updated in place, by its recurrent op)."""
    written: set[str] = set()
    reads: dict[str, None] = {}
    for step in steps:
        for name in step.inputs:
            if name is not None and name not in written and name not in constants:
                reads[name] = None
        written.update(step.outputs)
    return list(reads)


def _static_inputs(segment: Segment) -> set[str]:
    """The names of the segment's inputs that its ops need as constants while tracing."""
    return {name for step in segment.steps
            for name in get_op(step.op.type).static_input_names(step.op)}


def _jax_kernel(step: Step):
    """What a jax segment runs for ``step``: its own prepared kernel where that is traceable
    (a quantized op's integer kernel), else the op's ``run_jax`` with its fused activation."""
    if is_traceable(step.kernel):
        return step.kernel
    definition, attrs = get_op(step.op.type), step.op.attrs
    return lambda inputs: run_jax_op(definition, attrs, inputs)


def _nbytes(spec) -> int:
    return int(np.prod(spec.shape, dtype=np.int64)) * np.dtype(spec.dtype).itemsize
