"""The frontends' graph builder: what a frontend's rules emit IR ops through while it reads a
model (a Keras layer call, and next an ONNX node), one `GraphBuilder` per piece of the source.

The builder names new tensors after its piece and sets every op's ``origin`` to it (so errors,
reports and denylists speak of the user's layers), infers output shapes as ops are emitted
(edgeport.shapes.output_specs: rules can read their inputs' shapes), marks the batch dimension
dynamic (-1) in every tensor that carries it, and refuses a shape too large to exist
(`check_size`) before any array of it is made, or an op that cannot take the shapes it is
given, naming the piece and the op. A frontend specializes it with how it reads its source's
weights and options (frontends/keras/builder.py).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import EdgeportError, ModelFormatError
from ..graph import Graph, Op, Tensor
from ..ops import TensorSpec, get_op
from ..shapes import output_specs, subgraph_output_specs

# The most elements a tensor of one batch item may have: 1 GiB of float32, eight times the
# largest activation of the big image models (a 512x512x128 decoder map); a larger one comes
# from a damaged model, and building it would exhaust memory before anything could refuse it.
MAX_ELEMENTS = 1 << 28


def check_size(shape, where: str, what: str, damaged: str) -> tuple[int, ...]:
    """``shape`` if every dimension is a positive int and the product fits MAX_ELEMENTS,
    else ModelFormatError naming ``what`` and saying ``damaged`` (why the model must be
    damaged): called before a tensor of that shape exists."""
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
               for d in shape):
        raise ModelFormatError(f"{where}: {what} would have shape {list(shape)}; every "
                               f"dimension must be a positive integer ({damaged})")
    if math.prod(shape) > MAX_ELEMENTS:
        raise ModelFormatError(f"{where}: {what} would have shape {list(shape)}, more than "
                               f"{MAX_ELEMENTS} elements ({damaged})")
    return tuple(int(d) for d in shape)


class GraphBuilder:
    """Emits the ops of one piece ``name`` of the source model into ``graph``; ``specs``
    holds every tensor's spec with the batch dimension set to 1 (``dynamic`` names the
    tensors whose dim 0 is the batch); ``where`` starts every error message (file and
    piece). ``DAMAGED`` and ``INCONSISTENT`` say, in a frontend's terms, why a model whose
    shapes cannot exist or do not fit must be broken."""

    DAMAGED = "the model file is damaged"
    INCONSISTENT = "the model is inconsistent"

    def __init__(self, graph: Graph, specs: dict[str, TensorSpec], dynamic: set[str],
                 name: str, where: str):
        self.graph, self.specs, self.dynamic = graph, specs, dynamic
        self.name, self.where = name, where

    # -- reading --------------------------------------------------------------------------
    def shape(self, tensor: str, rank: int | None = None) -> tuple[int, ...]:
        """The tensor's shape with batch 1; the rules treat dim 0 as the batch. With
        ``rank``, a tensor of another rank is refused (the piece was wired to the wrong
        tensor)."""
        shape = self.specs[tensor].shape
        if rank is not None and len(shape) != rank:
            raise ModelFormatError(f"{self.where}: takes a rank-{rank} input, the model "
                                   f"feeds it one of shape {list(shape)}")
        return shape

    def rank(self, tensor: str) -> int:
        return len(self.shape(tensor))

    def check_size(self, shape, what: str) -> tuple[int, ...]:
        """``shape`` if a tensor of it can exist (`check_size`), named ``what``."""
        return check_size(shape, self.where, what, self.DAMAGED)

    # -- emitting ---------------------------------------------------------------------------
    def const(self, value, dtype=np.float32, suffix: str = "const") -> str:
        """A constant tensor holding ``value``; returns its name."""
        array = np.asarray(value, dtype=dtype)
        name = self.graph.unique_name(f"{self.name}/{suffix}")
        self.graph.add_tensor(Tensor(name, array.shape, array.dtype, array))
        self.specs[name] = TensorSpec(array.shape, array.dtype, array)
        return name

    def op(self, op_type: str, inputs: list[str | None], attrs: dict | None = None,
           n_outputs: int = 1, suffix: str | None = None, dtype=np.float32):
        """Emit one op; returns its output tensor name (a list when ``n_outputs`` > 1).
        Ops on known values are run (their values kept: a SHAPE -> STRIDED_SLICE chain
        has a value with batch 1 while building, the graph still computes it at run time);
        other output shapes come from the op's shape rule, else from running its kernel on
        zeros. ``dtype`` is the output dtype of ops that take it from their output tensor
        (CAST)."""
        definition = get_op(op_type)
        attrs = {**(definition.options.defaults if definition.options else {}), **(attrs or {})}
        outputs = [self.graph.unique_name(f"{self.name}/{suffix or op_type.lower()}")
                   for _ in range(n_outputs)]
        for i, name in enumerate(outputs):
            if i:
                outputs[i] = name = self.graph.unique_name(f"{outputs[0]}:{i}")
            self.graph.add_tensor(Tensor(name, (), dtype))
        op = Op(op_type, list(inputs), outputs, attrs, origin=self.name)
        specs = [None if n is None else self.specs[n] for n in inputs]
        try:
            results, batched = self._infer(op, definition, specs)
        except (ValueError, IndexError, ArithmeticError, EdgeportError) as exc:  # bad shapes
            shapes = ", ".join("-" if s is None else str(list(s.shape)) for s in specs)
            raise ModelFormatError(f"{self.where}: its {op_type} op cannot take inputs of "
                                   f"shapes {shapes} ({exc}); {self.INCONSISTENT}") from exc
        for name, spec in zip(outputs, results):
            self.check_size(spec.shape, f"the output of its {op_type} op")
            self.specs[name] = spec
            shape = spec.shape
            if batched and shape:
                self.dynamic.add(name)
                shape = (-1, *shape[1:])
            tensor = self.graph.tensors[name]
            tensor.shape, tensor.dtype = tuple(shape), np.dtype(spec.dtype)
        self.graph.add_op(op)
        return outputs if n_outputs > 1 else outputs[0]

    def _infer(self, op: Op, definition, specs) -> tuple[list[TensorSpec], bool]:
        """The output specs of ``op`` (edgeport.shapes.output_specs), and whether they carry
        the batch dimension: as its inputs do, but for a value known from shapes alone (SHAPE
        of a tensor holds the batch size and has no batch dimension)."""
        if definition.subgraph_fields:  # IF: the specs of the subgraph it runs
            results, how = subgraph_output_specs(self.graph, op, specs), "subgraph"
        else:
            def kernel(arrays):  # prepared only when it runs
                return definition.prepare(op, self.graph)(arrays)

            results, how = output_specs(op, definition, specs, kernel)
        batched = how != "value" and any(n in self.dynamic for n in op.inputs if n is not None)
        return results, batched

    def as_image(self, x: str) -> str:
        """A [batch, steps, channels] sequence as the [batch, 1, steps, channels] image a 2-D
        op takes (EXPAND_DIMS: no length built in, so an open length stays open)."""
        return self.op("EXPAND_DIMS", [x, self.const(1, np.int32, "axis")], suffix="as_image")

    def from_image(self, x: str) -> str:
        """Back from `as_image`'s layout (SQUEEZE of the height of 1)."""
        return self.op("SQUEEZE", [x], {"squeeze_dims": (1,)}, suffix="from_image")

    def reshape(self, x: str, shape_after_batch) -> str:
        """RESHAPE to (batch, *shape_after_batch), the batch kept dynamic."""
        self.check_size([d for d in shape_after_batch if d != -1], "its reshape target")
        target = [-1 if x in self.dynamic else self.shape(x)[0], *shape_after_batch]
        return self.op("RESHAPE", [x, self.const(target, np.int32, "shape")],
                       {"new_shape": tuple(target)})
