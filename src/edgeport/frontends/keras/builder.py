"""What a layer rule sees: a `LayerBuilder`, the frontends' `GraphBuilder` (shapes inferred
as ops are emitted, the batch dimension kept dynamic, impossible shapes refused) for one Keras
layer call, plus how a Keras layer's weights and config are read.

The layer's stored weights are checked against the shapes the rule expects; its config
reaches the rule as `Fields` (typed reads that name the field they refuse).
"""

from __future__ import annotations

import numpy as np

from ...errors import ModelFormatError, UnsupportedLayerError
from ...graph import Graph
from ...ops import TensorSpec
from ..builder import GraphBuilder
from .fields import DAMAGED, Fields


class Unsupported(Exception):
    """Raised by a rule for a layer option it cannot convert; collected per layer."""


class LayerBuilder(GraphBuilder):
    """Emits the ops of one layer call into ``graph`` (see `GraphBuilder`); ``config``
    reads the layer's config, `weights` its stored arrays."""

    DAMAGED = DAMAGED
    INCONSISTENT = "the config is inconsistent"

    def __init__(self, graph: Graph, specs: dict[str, TensorSpec], dynamic: set[str],
                 name: str, class_name: str, config: dict, weights: list[np.ndarray] | None,
                 source: str, call_kwargs: dict | None = None):
        super().__init__(graph, specs, dynamic, name, f"{source}: layer {name!r} ({class_name})")
        self.class_name, self.source = class_name, source
        self._weights = weights
        self.config = Fields(config, self.where)
        # the call's keyword arguments as the config records them (use_causal_mask=True)
        self.call_kwargs = call_kwargs or {}

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

    def stored_weights(self) -> list[np.ndarray]:
        """The layer's stored arrays as they are (a wrapper hands them to the layers it
        holds, whose rules check them)."""
        return list(self._weights or [])

    def wrapped(self, part: str, layer: dict, weights: list[np.ndarray]) -> "LayerBuilder":
        """A builder for a layer this one holds (``{"class_name", "config"}``: a wrapper's
        layer, one direction of a Bidirectional), named ``part`` under this layer."""
        return LayerBuilder(self.graph, self.specs, self.dynamic, f"{self.name}/{part}",
                            layer["class_name"], layer.get("config", {}), weights, self.source)

    def unsupported(self, reason: str) -> Unsupported:
        return Unsupported(reason)


def unsupported_error(source: str, problems: list[tuple[str, str, str]]) -> UnsupportedLayerError:
    """One error naming every offending layer: (name, class, reason); a name of None is the
    model itself (a subclassed model saved to a file keeps no name)."""
    lines = "; ".join(f"{'layer ' + repr(name) if name else 'the model'} ({cls}): {reason}"
                      for name, cls, reason in problems)
    return UnsupportedLayerError(f"{source}: cannot convert {len(problems)} layer(s): {lines}")
