"""Runs one graph on NumPy: plan once per set of input shapes, then invoke as often as needed.

Planning (`GraphExecutor.allocate`) infers every tensor's shape and folds every op whose inputs
are constants, so float16/int8 weights behind DEQUANTIZE (and DENSIFY of sparse weights) are
computed once and cached, as LiteRT does. Invoking runs the remaining ops in order and drops each
intermediate after its last use, unless all tensors are to be preserved.

Variable tensors (a recurrent op's state, `OpDef.variable_inputs`) persist as LiteRT's do: zero
when first allocated and after a resize, updated in place by the op that owns them, carried
from one invoke to the next until `reset_variables`. An op's step lists them among its outputs,
so that ops after it read the updated state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..errors import EdgeportError, GraphError, InterpreterStateError
from ..graph import Graph, Op, concrete_shape
from ..ops import TensorSpec, get_op
from ..ops.registry import Kernel
from ..shapes import infer_specs
from .memory import keep_freed_memory
from .threads import blas_threads


@dataclass
class Step:
    op: Op
    kernel: Kernel
    inputs: list[str | None]
    outputs: list[str]
    release: list[str] = field(default_factory=list)


class GraphExecutor:
    """Executes ``graph`` with ``kernels`` (from `bind_kernels`)."""

    def __init__(self, graph: Graph, kernels: Mapping[int, Kernel], source: str = "model",
                 preserve_all_tensors: bool = False, num_threads: int | None = None):
        self.graph = graph
        self.num_threads = num_threads
        self.kernels = kernels
        self.source = source
        self.preserve_all_tensors = preserve_all_tensors
        # Variable tensors that are not graph inputs: state the executor itself keeps.
        self.state_names = [n for n, t in graph.tensors.items()
                            if t.is_variable and t.data is None and n not in graph.inputs]
        self.input_shapes = {n: concrete_shape(graph.tensors[n].shape)
                             for n in (*graph.inputs, *self.state_names)}
        self.specs: dict[str, TensorSpec] | None = None
        self.constants: dict[str, np.ndarray] = {}
        self.steps: list[Step] = []
        self.values: dict[str, np.ndarray] = {}
        self.variables: dict[str, np.ndarray] = {}
        self.op_times: list[float] | None = None

    @property
    def allocated(self) -> bool:
        return self.specs is not None

    def resize_input(self, name: str, shape: Sequence[int]) -> None:
        self.input_shapes[name] = tuple(int(d) for d in shape)
        self.specs = None

    def allocate(self) -> None:
        """Infer shapes for the current input shapes, fold constants and plan the steps."""
        keep_freed_memory()  # invokes reuse freed activations (edgeport.runtime.memory)
        self.specs = infer_specs(self.graph, self.kernels, self.input_shapes, self.source)
        self.constants = {name: spec.value for name, spec in self.specs.items()
                          if spec.value is not None}
        keep = set(self.graph.outputs) | set(self.graph.inputs) | set(self.state_names)
        self.steps = [Step(op, self.kernels[id(op)], op.inputs, op.outputs + written_state(op))
                      for op in self.graph.topological_order()
                      if not all(name in self.constants for name in op.outputs)]
        if not self.preserve_all_tensors:
            last_use: dict[str, Step] = {}
            for step in self.steps:
                for name in step.inputs:
                    if name is not None and name not in self.constants and name not in keep:
                        last_use[name] = step
            for name, step in last_use.items():
                step.release.append(name)
        self.values = {name: np.zeros(self.specs[name].shape, self.specs[name].dtype)
                       for name in self.graph.inputs}
        self.reset_variables()

    def reset_variables(self) -> None:
        """Every variable tensor back to zeros (``reset_all_variables``): an int8 one to its
        zero point, the quantized 0.0, as LiteRT's ResetVariableTensor does (other types to a
        raw 0)."""
        self.variables = {name: np.full(self.shape_of(name), _reset_value(self.graph.tensors[name]),
                                        self.graph.tensors[name].dtype)
                          for name in self.state_names}

    def initial_values(self) -> dict[str, np.ndarray]:
        """What an invoke starts from: the inputs and the variable tensors' state."""
        return {**{n: self.values[n] for n in self.graph.inputs}, **self.variables}

    def keep_state(self, values: dict) -> None:
        """After an invoke: its values, and the variable tensors' new state."""
        self.values = values
        self.variables = {name: values[name] for name in self.state_names}

    def shape_of(self, name: str) -> tuple[int, ...]:
        if self.specs is not None and name in self.specs:
            return self.specs[name].shape
        return concrete_shape(self.graph.tensors[name].shape)

    def invoke(self, profile: bool = False) -> None:
        """Run the planned steps on the inputs in ``self.values``."""
        if not self.allocated:
            raise InterpreterStateError(f"{self.source}: call allocate_tensors() before invoke()"
                                        " (and again after resize_tensor_input())")
        values = {**self.constants, **self.initial_values()}
        self.op_times = [] if profile else None
        step = None
        try:
            with np.errstate(all="ignore"), blas_threads(self.num_threads):
                for step in self.steps:
                    start = time.perf_counter() if profile else 0.0
                    results = step.kernel([values[n] if n is not None else None
                                           for n in step.inputs])
                    for name, value in zip(step.outputs, results):
                        values[name] = value
                    for name in step.release:
                        del values[name]
                    if profile:
                        self.op_times.append(time.perf_counter() - start)
        except EdgeportError:
            raise
        except Exception as exc:
            raise GraphError(f"{self.source}: op {step.op.label} failed: "
                             f"{type(exc).__name__}: {exc}") from exc
        self.keep_state(values)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Set inputs (re-planning if their shapes changed), invoke, return the outputs."""
        for name, value in feeds.items():
            value = np.asarray(value)
            if tuple(value.shape) != tuple(self.input_shapes[name]):
                self.resize_input(name, value.shape)
        if not self.allocated:
            self.allocate()
        for name, value in feeds.items():
            self.values[name] = np.asarray(value, dtype=self.graph.tensors[name].dtype)
        self.invoke()
        return {name: self.values[name] for name in self.graph.outputs}


def written_state(op: Op) -> list[str]:
    """The variable tensors ``op`` updates in place (`OpDef.variable_inputs`)."""
    definition = None if op.is_custom else get_op(op.type)
    slots = definition.variable_inputs if definition is not None else ()
    return [op.inputs[i] for i in slots if i < len(op.inputs) and op.inputs[i] is not None]


def _reset_value(tensor) -> int:
    """What LiteRT resets a variable tensor to: an int8 one's zero point, else 0."""
    if tensor.dtype == np.int8 and tensor.quant is not None:
        return int(tensor.quant.zero_point[0])
    return 0
