"""Emitting a fused recurrent op (UNIDIRECTIONAL_SEQUENCE_LSTM / _RNN) so that the model stays
stateless, as a Keras or ONNX layer is, in LiteRT as in edgeport.

TFLite's recurrent ops keep their state in variable tensors, which LiteRT carries from one
invoke to the next and does not resize with the batch (docs/research/litert-lstm.md). So the op
goes into a subgraph of its own whose inputs are the sequence and the variable states, and the
main graph calls it with IF on a constant true condition: IF copies fresh initial states (zeros
sized by the batch at run time, or the layer's initial_state inputs) into the subgraph at every
invoke, and resizes the subgraph when the batch or the sequence length changes. The final
states leave the subgraph through copies made after the op (ADD of zero), which is how a layer
returns its state.

    main:      x ──┬─────────────────────────────── IF(true, x, h0, c0) ─> y (, h, c)
                   └─ x[:, 0, :1] ─ ZEROS_LIKE ─ + zeros[units] ─> h0, c0
    subgraph:  x, h0*, c0* ─ UNIDIRECTIONAL_SEQUENCE_LSTM ─> y;  h0* + 0 ─> h;  c0* + 0 ─> c
               (* variable tensors, updated in place by the op)

Each state gets a tensor of its own: IF aliases the tensors it copies into variable ones, and
the op writes its final state there. (Full-integer quantization turns an LSTM's call into one of
the integer LSTM, with integer zero states: quantize/recurrent.py.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Graph, Op, Tensor
from ..ops import get_op
from .builder import GraphBuilder


@dataclass
class RecurrentOp:
    """One fused recurrent op: its type and options, its inputs by slot (constant arrays, or
    None for an absent optional input), and the slots and sizes of its state tensors."""

    op_type: str
    attrs: dict
    constants: dict[int, np.ndarray]
    n_inputs: int
    state_slots: tuple[int, ...]
    state_sizes: tuple[int, ...]
    units: int


def emit_recurrent(b: GraphBuilder, spec: RecurrentOp, x: str,
                   initial_states: list[str] | None = None, return_state: bool = False):
    """Emit ``spec`` over the [batch, time, features] sequence ``x``, called in a subgraph of
    its own through IF; returns its [batch, time, units] output, and with ``return_state``
    also the final states (a list)."""
    starts = _initial_states(b, x, spec, initial_states)
    body = _body(b, spec, b.graph.tensors[x].shape, return_state)
    b.graph.subgraphs.append(body)
    index = len(b.graph.subgraphs)
    condition = b.const(True, np.bool_, suffix="always")
    outputs = b.op("IF", [condition, x, *starts],
                   {"then_subgraph_index": index, "else_subgraph_index": index},
                   n_outputs=len(body.outputs), suffix=spec.op_type.lower())
    if not return_state:
        return outputs
    return outputs[0], outputs[1:]


def _initial_states(b: GraphBuilder, x: str, spec: RecurrentOp, given) -> list[str]:
    """One tensor per state, each read by the IF alone: the given initial state plus zeros
    [size], or zeros [batch, size] made from the input's batch at run time (ZEROS_LIKE of
    its first feature at the first step, plus zeros [size])."""
    if given:
        bases = list(given)
    else:
        first = b.op("STRIDED_SLICE", [x, b.const([0, 0, 0], np.int32, "begin"),
                                       b.const([0, 1, 1], np.int32, "end"),
                                       b.const([1, 1, 1], np.int32, "strides")],
                     {"begin_mask": 1, "end_mask": 1, "shrink_axis_mask": 2})
        bases = [b.op("ZEROS_LIKE", [first])] * len(spec.state_sizes)
    return [b.op("ADD", [base, b.const(np.zeros(size), suffix="zeros")], suffix="initial_state")
            for base, size in zip(bases, spec.state_sizes)]


def _body(b: GraphBuilder, spec: RecurrentOp, x_shape, return_state: bool) -> Graph:
    """The subgraph: the op over its inputs, and copies of its final states."""
    name = b.name
    body = Graph(name=f"{name}/{spec.op_type.lower()}")
    x = body.add_tensor(Tensor(f"{name}/sequence", x_shape, np.float32)).name
    batch = x_shape[0]
    states = [body.add_tensor(Tensor(f"{name}/state_{i}", (batch, size), np.float32,
                                     is_variable=True)).name
              for i, size in enumerate(spec.state_sizes)]
    inputs: list[str | None] = [None] * spec.n_inputs
    inputs[0] = x
    for slot, value in spec.constants.items():
        inputs[slot] = body.add_tensor(Tensor(f"{name}/input_{slot}", value.shape,
                                              value.dtype, value)).name
    for slot, state in zip(spec.state_slots, states):
        inputs[slot] = state
    y = body.add_tensor(Tensor(f"{name}/output", (*x_shape[:2], spec.units),
                               np.float32)).name
    body.add_op(Op(spec.op_type, inputs, [y], dict(spec.attrs), origin=name))
    body.inputs, body.outputs = [x, *states], [y]
    if return_state:
        zero = body.add_tensor(Tensor(f"{name}/zero", (), np.float32,
                                      np.zeros((), np.float32))).name
        for i, state in enumerate(states):
            final = body.add_tensor(Tensor(f"{name}/final_state_{i}",
                                           body.tensors[state].shape, np.float32)).name
            # after the op, in op order: the copy reads the state it wrote
            body.add_op(Op("ADD", [state, zero], [final], dict(get_op("ADD").options.defaults),
                           origin=name))
            body.outputs.append(final)
    return body
