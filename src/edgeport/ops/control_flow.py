"""Control flow: IF, which runs one of two subgraphs on its inputs.

An op that runs subgraphs names them in its options (`OpDef.subgraph_fields`). Its kernel
calls them through the ``call(index, inputs) -> outputs`` that the interpreter binds
(runtime/kernels.py `bind_kernels`), so the op layer knows subgraph indices, never executors.
Shape inference of a model being built or checked follows the subgraph itself
(`shapes.subgraph_output_specs`).
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from .options import Int, Options
from .registry import OpDef, register_op


@register_op("IF")
class If(OpDef):
    """``then`` subgraph on inputs[1:] where the boolean scalar inputs[0] is true, else
    ``else``; the outputs are the subgraph's."""

    options = Options("IfOptions", then_subgraph_index=Int, else_subgraph_index=Int)
    subgraph_fields = ("then_subgraph_index", "else_subgraph_index")
    traces = False  # the jax backend runs the subgraph with its own executor

    def branch(self, attrs, condition) -> int:
        """The subgraph index the condition selects (TFLite: the first element of it)."""
        condition = np.asarray(condition)
        if condition.size != 1:
            raise ValueError(f"IF takes a condition of one element, got shape "
                             f"{list(condition.shape)}")
        return attrs["then_subgraph_index" if condition.reshape(-1)[0] else
                     "else_subgraph_index"]

    def prepare_call(self, op, call):
        attrs = op.attrs

        def kernel(inputs):
            return call(self.branch(attrs, inputs[0]), list(inputs[1:]))

        return kernel

    def prepare(self, op, graph):
        raise UnsupportedOpError(f"{op.label} runs a subgraph: its kernel comes from "
                                 "bind_kernels, which knows the model's subgraphs")
