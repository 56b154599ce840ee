"""Full-integer quantization of a fused LSTM: the IF call of a recurrent subgraph
(frontends/recurrent.py) becomes a call of LiteRT's integer LSTM (ops/integer_lstm.py).

What the integer LSTM needs beyond the int8 plan's grids:
- its cell state int16 on a power-of-two scale covering the state's calibrated range: the
  calibration runs the float LSTM over the same inputs and observes the cell state at every
  time step (`cell_state_values`), keyed by the subgraph's cell-state tensor;
- its output, output state and hidden state on one int8 grid, the output's calibrated one;
- zero initial states in the subgraph's own types at every invoke, since IF copies them in
  raw: made from the int8 input (``x[:, 0, :1] - itself`` broadcast over the units, an int16
  copy by CAST for the cell state), replacing the float zeros the frontend made.
What it does not cover stays float, with its reason: peepholes, layer normalization, a
projection, a cell activation other than tanh, initial states given as model inputs, the final
states returned (return_state).
"""

from __future__ import annotations

import math

import numpy as np

from ..graph import Graph, Op, QuantParams, Tensor
from ..ops import get_op
from ..ops.integer_lstm import CELL_EXPONENTS, GATE_SCALE, HIDDEN, integer_gaps
from ..ops.lstm_slots import (CELL_STATE, GATE_BIASES, INPUT_WEIGHTS, OUTPUT_STATE,
                             RECURRENT_WEIGHTS)
from .rules import bias_int32, quantize_constant, symmetric_weights

# Why the ops that made the float initial states are gone: the integer call makes its own.
REPLACED = "replaced by the integer LSTM's own zero states"
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def called_lstm(op: Op, graph: Graph) -> tuple[Graph, Op] | None:
    """(subgraph, LSTM op) when ``op`` is an IF calling a subgraph that is one fused LSTM over
    the IF's operands (then and else the same; the copies of its final states after it),
    else None."""
    if op.type != "IF":
        return None
    then, other = op.attrs.get("then_subgraph_index"), op.attrs.get("else_subgraph_index")
    if then != other or not 0 < then <= len(graph.subgraphs):
        return None
    body = graph.subgraphs[then - 1]
    if not body.ops or body.ops[0].type != LSTM or \
            any(copy.type != "ADD" for copy in body.ops[1:]):  # return_state's copies
        return None
    return body, body.ops[0]


def float_reason(op: Op, graph: Graph, ranges) -> str | None:
    """Why the recurrent call ``op`` stays float, or None when it runs the integer LSTM."""
    found = called_lstm(op, graph)
    if found is None:
        return "edgeport has no int8 kernel for it"
    body, lstm = found
    gaps = integer_gaps(lstm)
    if gaps:
        return f"edgeport's integer LSTM has {gaps[0]}"
    if len(body.outputs) != 1:
        return "an integer LSTM returning its final states (return_state) is not supported"
    if replaceable_initial_states(op, graph) is None:
        return "an integer LSTM with initial states given as inputs is not supported"
    missing = [n for n in (op.inputs[1], op.outputs[0], cell_state_key(body)) if n not in ranges]
    if missing:
        return f"tensor {missing[0]!r} has no calibrated range"
    return None


def cell_state_key(body: Graph) -> str:
    """The name the cell state's calibrated range goes by: the subgraph's cell-state input."""
    return body.inputs[2]


def replaceable_initial_states(op: Op, graph: Graph) -> list[Op] | None:
    """The ops that make the call's zero initial states (frontends/recurrent.py's chain from
    the input), all read only inside the chain or by this call; None when a state comes
    from elsewhere (a model input: Keras' initial_state)."""
    producer, consumers = graph.producers(), graph.consumers()
    chain, stack = {}, [n for n in op.inputs[2:]]
    while stack:
        name = stack.pop()
        if name == op.inputs[1] or graph.tensors[name].is_constant:
            continue  # the sequence itself (the chain starts from it), or a constant
        maker = producer.get(name)
        if maker is None:
            return None
        if maker.type not in ("ADD", "ZEROS_LIKE", "STRIDED_SLICE"):
            return None
        chain[id(maker)] = maker
        stack.extend(n for n in maker.inputs if n is not None)
    members = set(chain) | {id(op)}
    for maker in chain.values():
        readers = [c for n in maker.outputs for c in consumers.get(n, [])]
        if any(id(c) not in members for c in readers) or set(maker.outputs) & set(graph.outputs):
            return None
    return list(chain.values())


def cell_state_keys(graph: Graph) -> list[str]:
    """The calibration keys of the cell states of ``graph``'s recurrent calls."""
    calls = (called_lstm(op, graph) for op in graph.ops)
    return [cell_state_key(call[0]) for call in calls if call is not None]


def cell_state_values(graph: Graph, values: dict) -> dict[str, np.ndarray]:
    """For calibration: each recurrent call's cell state at every time step, from the float
    values of one run (``values``: every tensor of ``graph``'s main subgraph)."""
    found = {}
    for op in graph.ops:
        call = called_lstm(op, graph)
        if call is None:
            continue
        body, lstm = call
        operands = dict(zip(body.inputs, (values[n] for n in op.inputs[1:])))
        inputs = [None if n is None else
                  operands.get(n, body.tensors[n].data) for n in lstm.inputs]
        found[cell_state_key(body)] = get_op(LSTM).cell_states(lstm.attrs, inputs)
    return found


def cell_exponent(low: float, high: float) -> int:
    """The power-of-two scale exponent of the int16 cell state for a calibrated range
    (TFLite's quantizer: ``2**ceil(log2(max|c|)) / 2**15``), within what the kernel takes."""
    largest = max(abs(low), abs(high))
    exponent = math.ceil(math.log2(largest)) - 15 if largest > 0 else CELL_EXPONENTS[0]
    return min(max(exponent, CELL_EXPONENTS[0]), CELL_EXPONENTS[-1])


def rewrite_call(rewriter, step, output_params: QuantParams) -> None:
    """Emit the integer call of ``step.op`` on ``rewriter`` (ptq._Int8Rewriter): its input
    on the plan's grid, its subgraph quantized in place, fresh integer zero states, its
    output on ``output_params``."""
    g, op = rewriter.g, step.op
    body, lstm = called_lstm(op, g)
    x = rewriter.int8_of(op.inputs[1], origin=op.origin)
    x_params = g.tensors[x].quant
    cell = rewriter.ranges[cell_state_key(body)]
    cell_params = QuantParams([2.0 ** cell_exponent(*cell)], [0])
    _quantize_body(body, lstm, x_params, output_params, cell_params)
    h0, c0 = _zero_states(rewriter, op, x, output_params,
                          body.tensors[lstm.inputs[OUTPUT_STATE]].shape[-1])
    after = []
    y = rewriter._int8_output(op.outputs[0], output_params, after)
    rewriter.ops.append(Op("IF", [op.inputs[0], x, h0, c0], [y], dict(op.attrs),
                           origin=op.origin))
    for op_type, source, target in after:
        rewriter._emit(op_type, source, target, op.origin)


def _quantize_body(body: Graph, lstm: Op, x_params, output_params, cell_params) -> None:
    """The subgraph's tensors to the integer LSTM's types, in place: int8 sequence, output
    and output state, int16 cell state, int8 per-tensor weights, int32 biases at
    ``s_x * s_w``, and the five intermediates."""
    def retype(name, dtype, quant):
        body.tensors[name].dtype, body.tensors[name].quant = np.dtype(dtype), quant

    retype(lstm.inputs[0], np.int8, x_params)
    retype(lstm.outputs[0], np.int8, output_params)
    retype(lstm.inputs[OUTPUT_STATE], np.int8, output_params)
    retype(lstm.inputs[CELL_STATE], np.int16, cell_params)
    weight_scales = {}
    for first in (INPUT_WEIGHTS, RECURRENT_WEIGHTS):
        for k in range(4):
            name = lstm.inputs[first + k]
            if name is not None:
                tensor = body.tensors[name]
                tensor.data, tensor.quant = symmetric_weights(tensor.data, None)
                tensor.dtype = np.dtype(np.int8)
                weight_scales[first + k] = tensor.quant.scale
    for k in range(4):
        name = lstm.inputs[GATE_BIASES + k]
        if name is not None:
            tensor = body.tensors[name]
            tensor.data, tensor.quant = bias_int32(tensor.data, x_params.scale[0],
                                                   weight_scales[INPUT_WEIGHTS + k])
            tensor.dtype = np.dtype(np.int32)
    lstm.intermediates = []
    for k in range(5):
        dtype, quant = ((np.int8, output_params) if k == HIDDEN else
                        (np.int16, QuantParams([GATE_SCALE], [0])))
        name = body.unique_name(f"{lstm.outputs[0]}/intermediate_{k}")
        body.add_tensor(Tensor(name, (), dtype, quant=quant))
        lstm.intermediates.append(name)


def _zero_states(rewriter, op: Op, x: str, output_params: QuantParams, units: int):
    """(h0, c0): int8 zeros on the output's grid and int16 raw zeros, [batch, units], made
    from the int8 sequence ``x`` at run time: ``x[:, 0, :1] - itself`` (0.0 on any grid),
    plus zeros [units] onto h's grid, or onto the raw-zero grid (1.0, 0) cast to int16."""
    g = rewriter.g
    batch = g.tensors[x].shape[0]
    x_params = g.tensors[x].quant
    raw_zero = QuantParams([1.0], [0])

    def tensor(base, shape, dtype, quant=None, data=None):
        name = g.unique_name(f"{op.origin or op.outputs[0]}/{base}")
        g.add_tensor(Tensor(name, shape, dtype, data, quant=quant))
        return name

    def emit(op_type, inputs, output, attrs=None):
        definition = get_op(op_type)
        defaults = dict(definition.options.defaults) if definition.options else {}
        rewriter.ops.append(Op(op_type, inputs, [output], {**defaults, **(attrs or {})},
                               origin=op.origin))
        return output

    bounds = [tensor(what, (3,), np.int32, data=np.array(v, np.int32))
              for what, v in (("begin", [0, 0, 0]), ("end", [0, 1, 1]), ("strides", [1, 1, 1]))]
    first = emit("STRIDED_SLICE", [x, *bounds], tensor("first_step", (batch, 1), np.int8, x_params),
                 {"begin_mask": 1, "end_mask": 1, "shrink_axis_mask": 2})
    zero = emit("SUB", [first, first], tensor("zero", (batch, 1), np.int8, x_params))
    states = []
    for params in (output_params, raw_zero):
        zeros = tensor("zeros", (units,), np.int8, params,
                       quantize_constant(np.zeros(units), params))
        states.append(emit("ADD", [zero, zeros],
                           tensor("initial_state", (batch, units), np.int8, params)))
    c0 = emit("CAST", [states[1]], tensor("initial_cell_state", (batch, units), np.int16))
    return states[0], c0
