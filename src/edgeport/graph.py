"""The one intermediate representation every frontend produces and everything else consumes.

A `Graph` is NHWC, uses TFLite's op vocabulary (``Op.type`` is the BuiltinOperator name) and
TFLite's weight layouts, so reading and writing .tflite is a near 1:1 mapping. Tensors are keyed
by unique name; ``Graph.tensors`` keeps insertion order, which the .tflite reader makes equal to
the file's tensor order so that tensor indices mean the same thing in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from .errors import GraphError


@dataclass(eq=False)
class QuantParams:
    """Affine quantization: ``real = (q - zero_point) * scale``, per tensor or per ``axis``."""

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int = 0
    min: np.ndarray | None = None
    max: np.ndarray | None = None

    def __post_init__(self):
        self.scale = np.asarray(self.scale, dtype=np.float32).reshape(-1)
        self.zero_point = np.asarray(self.zero_point, dtype=np.int64).reshape(-1)

    @property
    def per_axis(self) -> bool:
        return self.scale.size > 1

    def __eq__(self, other):
        return (isinstance(other, QuantParams) and self.axis == other.axis
                and np.array_equal(self.scale, other.scale)
                and np.array_equal(self.zero_point, other.zero_point)
                and _optional_equal(self.min, other.min) and _optional_equal(self.max, other.max))


@dataclass(eq=False)
class DimensionMetadata:
    """One dimension of a sparse tensor (TACO format): DENSE with ``dense_size``, or
    SPARSE_CSR with ``segments`` and ``indices``."""

    format: str
    dense_size: int = 0
    segments: np.ndarray | None = None
    indices: np.ndarray | None = None


@dataclass(eq=False)
class Sparsity:
    """How a sparse constant is stored; DENSIFY turns it into a dense tensor."""

    traversal_order: list[int]
    block_map: list[int]
    dim_metadata: list[DimensionMetadata]


@dataclass(eq=False)
class Tensor:
    """A value in the graph. ``data`` is set for constants; ``shape`` uses -1 for dynamic dims."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: np.ndarray | None = None
    quant: QuantParams | None = None
    sparsity: Sparsity | None = None
    is_variable: bool = False

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = np.dtype(self.dtype)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        return 0 if self.data is None else int(self.data.nbytes)


@dataclass(eq=False)
class Op:
    """One operation. ``inputs`` may hold None for an absent optional input. ``attrs`` are the
    TFLite builtin options in snake_case (``{"custom_options": bytes}`` for custom ops).
    ``origin`` is the source layer or node name, kept through every pass for reports.
    ``intermediates`` are tensors only an integer kernel reads the quantization of (the
    integer LSTM's gate and hidden scales), never values in the dataflow."""

    type: str
    inputs: list[str | None]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    origin: str | None = None
    intermediates: list[str] = field(default_factory=list)

    @property
    def is_custom(self) -> bool:
        return self.type.startswith("CUSTOM:")

    @property
    def label(self) -> str:
        """How error messages name this op: its type and where it came from."""
        where = self.origin or (self.outputs[0] if self.outputs else "?")
        return f"{self.type} ({where})"


@dataclass(eq=False)
class Signature:
    """A named entry point: user-facing input/output names mapped to tensor names."""

    key: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    subgraph_index: int = 0


@dataclass(eq=False)
class Graph:
    """A dataflow graph of `Op`s over named `Tensor`s, plus the model-level extras of .tflite.

    ``subgraphs`` holds further graphs (control-flow bodies, extra signatures); a graph's own
    subgraph index is 0 and ``subgraphs[i]`` is index ``i + 1``.
    """

    tensors: dict[str, Tensor] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    name: str = ""
    signatures: list[Signature] = field(default_factory=list)
    metadata: dict[str, bytes] = field(default_factory=dict)
    description: str = ""
    subgraphs: list["Graph"] = field(default_factory=list)

    # -- building ---------------------------------------------------------------------------
    def add_tensor(self, tensor: Tensor) -> Tensor:
        if tensor.name in self.tensors:
            raise GraphError(f"tensor {tensor.name!r} is already defined in graph {self.name!r}")
        self.tensors[tensor.name] = tensor
        return tensor

    def add_op(self, op: Op) -> Op:
        self.ops.append(op)
        return op

    def unique_name(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``… whichever is not yet a tensor name."""
        name, i = base, 0
        while name in self.tensors:
            i += 1
            name = f"{base}_{i}"
        return name

    # -- queries ----------------------------------------------------------------------------
    def all_graphs(self) -> list["Graph"]:
        """This graph followed by its subgraphs, in .tflite subgraph order."""
        return [self, *self.subgraphs]

    def producers(self) -> dict[str, Op]:
        return {name: op for op in self.ops for name in op.outputs}

    def consumers(self) -> dict[str, list[Op]]:
        found: dict[str, list[Op]] = {}
        for op in self.ops:
            for name in op.inputs:
                if name is not None:
                    found.setdefault(name, []).append(op)
        return found

    def op_types(self) -> list[str]:
        """Every op type used, in this graph and its subgraphs, in first-use order."""
        return list(dict.fromkeys(op.type for g in self.all_graphs() for op in g.ops))

    def topological_order(self) -> list[Op]:
        """The ops, ordered so that every op comes after the producers of its inputs.

        Keeps the existing order where it is already valid. Raises GraphError on a cycle,
        naming an op on it.
        """
        producer = self.producers()
        state: dict[int, int] = {}  # 1 = visiting, 2 = done
        ordered: list[Op] = []
        for root in self.ops:
            stack = [(root, False)]
            while stack:
                op, expanded = stack.pop()
                if expanded:
                    state[id(op)] = 2
                    ordered.append(op)
                    continue
                if state.get(id(op)) == 2:
                    continue
                if state.get(id(op)) == 1:
                    raise GraphError(f"graph {self.name!r} has a cycle through op {op.label}")
                state[id(op)] = 1
                stack.append((op, True))
                for name in reversed([n for n in op.inputs if n is not None]):
                    dep = producer.get(name)
                    if dep is not None and state.get(id(dep)) != 2:
                        if state.get(id(dep)) == 1:
                            raise GraphError(
                                f"graph {self.name!r} has a cycle through op {dep.label}")
                        stack.append((dep, False))
        return ordered

    # -- checking ---------------------------------------------------------------------------
    def validate(self) -> "Graph":
        """Check the graph's structure; raise GraphError naming the op and tensor if it is
        malformed: every op input and graph output exists, each tensor has at most one
        producer, graph inputs are not produced by ops, no cycles (in every subgraph). That
        every op is known and produces the shapes and dtypes its output tensors declare needs
        the op registry: edgeport.shapes.validate checks both."""
        for g in self.all_graphs():
            g._check_structure()
        return self

    def _check_structure(self) -> None:
        where = f"graph {self.name!r}"
        seen: dict[str, Op] = {}
        for op in self.ops:
            for name in op.inputs:
                if name is not None and name not in self.tensors:
                    raise GraphError(f"{where}: op {op.label} reads tensor {name!r}, "
                                     "which is not defined")
            for name in op.outputs:
                if name not in self.tensors:
                    raise GraphError(f"{where}: op {op.label} writes tensor {name!r}, "
                                     "which is not defined")
                if name in seen:
                    raise GraphError(f"{where}: tensor {name!r} is produced by both "
                                     f"{seen[name].label} and {op.label}")
                if name in self.inputs:
                    raise GraphError(f"{where}: graph input {name!r} is overwritten by {op.label}")
                seen[name] = op
        for name in (*self.inputs, *self.outputs):
            if name not in self.tensors:
                raise GraphError(f"{where}: graph input/output {name!r} is not defined")
        self.topological_order()


def _optional_equal(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return np.array_equal(a, b)


def concrete_shape(shape: Iterable[int]) -> tuple[int, ...]:
    """A shape with every dynamic (-1) dimension set to 1, as TFLite allocates it by default."""
    return tuple(1 if d < 0 else int(d) for d in shape)
