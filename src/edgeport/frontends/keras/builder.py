"""What a layer rule sees: a `LayerBuilder` that emits IR ops for one Keras layer call.

The builder names new tensors after the layer, sets every op's ``origin`` to the layer name,
infers output shapes as ops are emitted (so that rules can read their inputs' shapes), checks
the layer's stored weights against the shapes the rule expects, and marks the batch dimension
dynamic (-1) in every tensor that carries it. The layer's config reaches the rule as `Fields`
(typed reads that name the field they refuse); a shape that a damaged config makes impossible
or too large (`check_size`) is refused before any array of that shape exists, and an op that
cannot take the shapes it is given is refused naming the layer and the op.
"""

from __future__ import annotations

import numpy as np

from ...errors import EdgeportError, ModelFormatError, UnsupportedLayerError
from ...graph import Graph, Op, Tensor
from ...ops import TensorSpec, get_op
from ...shapes import output_specs
from .fields import Fields, check_size


class Unsupported(Exception):
    """Raised by a rule for a layer option it cannot convert; collected per layer."""


class LayerBuilder:
    """Emits the ops of one layer call into ``graph``; ``specs`` holds every tensor's spec
    with the batch dimension set to 1 (``dynamic`` names the tensors whose dim 0 is the
    batch); ``config`` reads the layer's config."""

    def __init__(self, graph: Graph, specs: dict[str, TensorSpec], dynamic: set[str],
                 name: str, class_name: str, config: dict, weights: list[np.ndarray] | None,
                 source: str):
        self.graph, self.specs, self.dynamic = graph, specs, dynamic
        self.name, self.class_name = name, class_name
        self._weights, self.source = weights, source
        self.where = f"{source}: layer {name!r} ({class_name})"
        self.config = Fields(config, self.where)

    # -- reading --------------------------------------------------------------------------
    def shape(self, tensor: str, rank: int | None = None) -> tuple[int, ...]:
        """The tensor's shape with batch 1; the rules treat dim 0 as the batch. With
        ``rank``, a tensor of another rank is refused (the layer was wired to the wrong
        tensor)."""
        shape = self.specs[tensor].shape
        if rank is not None and len(shape) != rank:
            raise ModelFormatError(f"{self.where}: takes a rank-{rank} input, the config "
                                   f"feeds it one of shape {list(shape)}")
        return shape

    def rank(self, tensor: str) -> int:
        return len(self.shape(tensor))

    def weights(self, *expected: tuple[int, ...] | None) -> list[np.ndarray]:
        """The layer's stored arrays as float32, checked against ``expected`` shapes
        (None: any shape); ModelFormatError naming the file and layer if they differ."""
        stored, where = self._weights, self.where
        if stored is None:
            raise ModelFormatError(f"{where}: its weights are missing from the file")
        if len(stored) != len(expected):
            raise ModelFormatError(f"{where}: expected {len(expected)} weight arrays, the file "
                                   f"holds {len(stored)}")
        for i, (array, shape) in enumerate(zip(stored, expected)):
            if shape is not None and tuple(array.shape) != tuple(shape):
                raise ModelFormatError(f"{where}: weight {i} has shape {list(array.shape)}, "
                                       f"expected {list(shape)}")
        return [np.asarray(a, dtype=np.float32) for a in stored]

    def unsupported(self, reason: str) -> Unsupported:
        return Unsupported(reason)

    def check_size(self, shape, what: str) -> tuple[int, ...]:
        """``shape`` if a tensor of it can exist (`fields.check_size`), named ``what``."""
        return check_size(shape, self.where, what)

    # -- emitting ---------------------------------------------------------------------------
    def const(self, value, dtype=np.float32, suffix: str = "const") -> str:
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
        except (ValueError, IndexError, EdgeportError) as exc:  # shapes the op cannot take
            shapes = ", ".join("-" if s is None else str(list(s.shape)) for s in specs)
            raise ModelFormatError(f"{self.where}: its {op_type} op cannot take inputs of "
                                   f"shapes {shapes} ({exc}); the config is inconsistent") \
                from exc
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
        def kernel(arrays):  # prepared only when it runs
            return definition.prepare(op, self.graph)(arrays)

        results, how = output_specs(op, definition, specs, kernel)
        batched = how != "value" and any(n in self.dynamic for n in op.inputs if n is not None)
        return results, batched

    def reshape(self, x: str, shape_after_batch) -> str:
        """RESHAPE to (batch, *shape_after_batch), the batch kept dynamic."""
        self.check_size([d for d in shape_after_batch if d != -1], "its reshape target")
        target = [-1 if x in self.dynamic else self.shape(x)[0], *shape_after_batch]
        return self.op("RESHAPE", [x, self.const(target, np.int32, "shape")],
                       {"new_shape": tuple(target)})


def unsupported_error(source: str, problems: list[tuple[str, str, str]]) -> UnsupportedLayerError:
    """One error naming every offending layer: (name, class, reason); a name of None is the
    model itself (a subclassed model saved to a file keeps no name)."""
    lines = "; ".join(f"{'layer ' + repr(name) if name else 'the model'} ({cls}): {reason}"
                      for name, cls, reason in problems)
    return UnsupportedLayerError(f"{source}: cannot convert {len(problems)} layer(s): {lines}")
