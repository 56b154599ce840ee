"""Recurrent layers: LSTM and SimpleRNN as TFLite's fused sequence ops, GRU unrolled.

Each becomes one UNIDIRECTIONAL_SEQUENCE_LSTM / _RNN, called through IF so that the model stays
stateless and resizable in batch and length (frontends/recurrent.py). Keras' weights map one to one: its
kernel [features, 4 * units] holds the gates in the order i, f, c, o, which TFLite takes as four
[units, features] matrices (each gate's slice, transposed); the recurrent kernel and the bias
split the same way. TFLite's gates are sigmoids, and its cell activation is one of its fused
activations, so the layer's activations must be among those. go_backwards reverses the input
in time (REVERSE_V2); like Keras, the outputs then stay in the order they were computed.

TFLite has no GRU op, so GRU becomes the ops of each time step (the official converter makes a
WHILE loop of the same ops); every activation the Keras frontend converts is allowed there, and
int8 quantization covers it like any other ops.
"""

from __future__ import annotations

import numpy as np

from ...recurrent import RecurrentOp, emit_recurrent
from ....ops.lstm_slots import (CELL_STATE, GATE_BIASES, INPUT_WEIGHTS, LSTM_INPUTS,
                                OUTPUT_STATE, RECURRENT_WEIGHTS)
from . import keras_layer
from .activations import activation_name, apply_activation

# Keras cell activations and the TFLite fused activation computing them.
CELL_ACTIVATIONS = {"tanh": "TANH", "relu": "RELU", "relu6": "RELU6"}
LSTM_GATES = 4


@keras_layer("LSTM", inputs=None)
def lstm(b, cfg, inputs):
    """LSTM(units): inputs are the sequence and, optionally, the initial states [h, c]."""
    fused = activation_name(cfg.get("recurrent_activation", "sigmoid")) == "sigmoid" and \
        activation_name(cfg.get("activation", "tanh")) in CELL_ACTIVATIONS
    x, initial = _sequence_input(b, cfg, inputs, states=2, reverse=fused)
    units = cfg.int("units", minimum=1)
    features = b.shape(x, 3)[-1]
    use_bias = cfg.bool("use_bias", True)
    weights = b.weights((features, LSTM_GATES * units), (units, LSTM_GATES * units),
                        *([(LSTM_GATES * units,)] if use_bias else []))
    kernel, recurrent = weights[0], weights[1]
    # LiteRT crashes on absent gate biases: zeros stand in for use_bias=False
    bias = weights[2] if use_bias else np.zeros(LSTM_GATES * units, np.float32)
    if not fused:
        return _unrolled_lstm(b, cfg, x, initial, kernel, recurrent, bias)
    constants = {}
    for gate in range(LSTM_GATES):
        part = slice(gate * units, (gate + 1) * units)
        constants[INPUT_WEIGHTS + gate] = np.ascontiguousarray(kernel[:, part].T)
        constants[RECURRENT_WEIGHTS + gate] = np.ascontiguousarray(recurrent[:, part].T)
        constants[GATE_BIASES + gate] = bias[part].copy()
    spec = RecurrentOp("UNIDIRECTIONAL_SEQUENCE_LSTM",
                       {"fused_activation_function": _cell_activation(b, cfg),
                        "cell_clip": 0.0, "proj_clip": 0.0, "time_major": False},
                       constants, n_inputs=LSTM_INPUTS, state_slots=(OUTPUT_STATE, CELL_STATE),
                       state_sizes=(units, units), units=units)
    return _outputs(b, cfg, spec, x, initial)


@keras_layer("SimpleRNN", inputs=None)
def simple_rnn(b, cfg, inputs):
    """SimpleRNN(units): inputs are the sequence and, optionally, the initial state."""
    x, initial = _sequence_input(b, cfg, inputs, states=1)
    units = cfg.int("units", minimum=1)
    features = b.shape(x, 3)[-1]
    use_bias = cfg.bool("use_bias", True)
    weights = b.weights((features, units), (units, units), *([(units,)] if use_bias else []))
    bias = weights[2] if use_bias else np.zeros(units, np.float32)
    spec = RecurrentOp("UNIDIRECTIONAL_SEQUENCE_RNN",
                       {"fused_activation_function": _cell_activation(b, cfg),
                        "time_major": False},
                       {1: np.ascontiguousarray(weights[0].T),
                        2: np.ascontiguousarray(weights[1].T), 3: bias},
                       n_inputs=5, state_slots=(4,), state_sizes=(units,), units=units)
    return _outputs(b, cfg, spec, x, initial)


def _sequence_input(b, cfg, inputs, states: int, reverse: bool = True):
    """(the sequence, its initial states or None), refusing what no recurrent op can do;
    with ``reverse``, a go_backwards sequence reversed in time (REVERSE_V2)."""
    if cfg.bool("stateful", False):
        raise b.unsupported("stateful=True: the state would carry from one call to the "
                            "next; convert the layer with stateful=False (the default) and "
                            "feed the state back as initial_state inputs")
    if cfg.bool("time_major", False):  # a Keras 2 option: [time, batch, features] inputs
        raise b.unsupported("time_major=True: convert the model with time_major=False (the "
                            "default), batch first")
    if len(inputs) not in (1, 1 + states):
        raise b.unsupported(f"takes a sequence and {states} initial state(s), the model "
                            f"gives it {len(inputs)} inputs")
    x = inputs[0]
    if reverse and cfg.bool("go_backwards", False):
        x = b.op("REVERSE_V2", [x, b.const([1], np.int32, "axis")])
    return x, (inputs[1:] or None)


def _cell_activation(b, cfg) -> str:
    name = activation_name(cfg.get("activation", "tanh"))
    if name not in CELL_ACTIVATIONS:
        raise b.unsupported(f"activation {name!r}: TFLite's fused recurrent ops apply one of "
                            f"{', '.join(sorted(CELL_ACTIVATIONS))} to the cell")
    return CELL_ACTIVATIONS[name]


def _outputs(b, cfg, spec: RecurrentOp, x: str, initial):
    """The layer's outputs: the sequence (or its last step), then the final states."""
    return_state = cfg.bool("return_state", False)
    result = emit_recurrent(b, spec, x, initial, return_state)
    y, states = result if return_state else (result, [])
    if not cfg.bool("return_sequences", False):
        y = b.op("STRIDED_SLICE", [y, b.const([0, -1, 0], np.int32, "begin"),
                                   b.const([0, 0, 0], np.int32, "end"),
                                   b.const([1, 1, 1], np.int32, "strides")],
                 {"begin_mask": 0b101, "end_mask": 0b111, "shrink_axis_mask": 0b010},
                 suffix="last_step")
    return [y, *states] if return_state else y


@keras_layer("GRU", inputs=None)
def gru(b, cfg, inputs):
    """GRU(units), unrolled over its (fixed) time steps: TFLite has no fused GRU. The input
    projections of every step are one FULLY_CONNECTED; each step is then FULLY_CONNECTED of
    the state, SPLITs into the z, r, h gates and their elementwise ops; the activations are
    any the Keras frontend converts. reset_after (the default) applies the reset gate after
    the recurrent projection, and Keras then keeps separate input and recurrent biases."""
    x, initial = _sequence_input(b, cfg, inputs, states=1, reverse=False)
    units = cfg.int("units", minimum=1)
    features = b.shape(x, 3)[-1]
    use_bias, reset_after = cfg.bool("use_bias", True), cfg.bool("reset_after", True)
    bias_shape = (2, 3 * units) if reset_after else (3 * units,)
    kernel, recurrent, *bias = b.weights((features, 3 * units), (units, 3 * units),
                                         *([bias_shape] if use_bias else []))
    bias = np.reshape(bias[0], (-1, 3 * units)) if bias else np.zeros((2, 3 * units), np.float32)
    activation, gate = cfg.get("activation", "tanh"), cfg.get("recurrent_activation", "sigmoid")
    # Without an initial state, the first step's state is zero: its recurrent projection is
    # the recurrent bias alone (no zero tensor to make, nor to quantize)
    h = initial[0] if initial else None
    # (without reset_after, Keras adds no bias to the recurrent projection)
    recurrent_bias = bias[1] if reset_after else np.zeros(3 * units, np.float32)
    # one constant each, shared by the steps
    if reset_after:
        gates_kernel = b.const(recurrent.T, suffix="recurrent_kernel")
        gates_bias = b.const(recurrent_bias, suffix="recurrent_bias")
    else:
        gates_kernel = b.const(recurrent[:, :2 * units].T, suffix="recurrent_kernel")
        candidate_kernel = b.const(recurrent[:, 2 * units:].T, suffix="recurrent_kernel")
    outputs = []
    zero_bias = np.split(recurrent_bias, 3)
    for x_t in _step_inputs(b, cfg, x, kernel, bias[0]):
        x_z, x_r, x_h = _split(b, x_t, 3)
        if h is None:
            h_z, h_r, h_h = (b.const(part, suffix="recurrent_bias") for part in zero_bias)
        elif reset_after:
            h_z, h_r, h_h = _split(b, b.op("FULLY_CONNECTED", [h, gates_kernel, gates_bias]), 3)
        else:
            h_z, h_r = _split(b, b.op("FULLY_CONNECTED", [h, gates_kernel, None]), 2)
        z = apply_activation(b, b.op("ADD", [x_z, h_z]), gate)
        r = apply_activation(b, b.op("ADD", [x_r, h_r]), gate)
        if reset_after:
            candidate = b.op("ADD", [x_h, b.op("MUL", [r, h_h])])
        elif h is None:
            candidate = x_h
        else:
            candidate = b.op("ADD", [x_h, b.op("FULLY_CONNECTED", [b.op("MUL", [r, h]),
                                                                   candidate_kernel, None])])
        candidate = apply_activation(b, candidate, activation)
        # z * h + (1 - z) * candidate, as candidate + z * (h - candidate)
        change = b.op("MUL", [z, candidate if h is None else b.op("SUB", [h, candidate])])
        h = b.op("SUB" if h is None else "ADD", [candidate, change], suffix="state")
        outputs.append(h)
    return _unrolled_outputs(b, cfg, outputs, [h])


def _unrolled_lstm(b, cfg, x, initial, kernel, recurrent, bias):
    """An LSTM the fused op cannot compute (gates other than sigmoid, a cell activation
    TFLite does not fuse) as the ops of each step, as GRU: z = x_t W + b + h R, SPLIT into
    the i, f, c, o gates, c = f * c + i * g, h = o * activation(c)."""
    gate, activation = cfg.get("recurrent_activation", "sigmoid"), cfg.get("activation", "tanh")
    recurrent_kernel = b.const(recurrent.T, suffix="recurrent_kernel")
    h, c = initial if initial else (None, None)  # zero: the first step has no R h, no f * c
    outputs = []
    for x_t in _step_inputs(b, cfg, x, kernel, bias):
        z = x_t if h is None else b.op("ADD", [x_t, b.op("FULLY_CONNECTED",
                                                         [h, recurrent_kernel, None])])
        i, f, g, o = _split(b, z, LSTM_GATES)
        i, f, o = (apply_activation(b, v, gate) for v in (i, f, o))
        update = b.op("MUL", [i, apply_activation(b, g, activation)])
        c = update if c is None else b.op("ADD", [b.op("MUL", [f, c]), update])
        h = b.op("MUL", [o, apply_activation(b, c, activation)], suffix="state")
        outputs.append(h)
    return _unrolled_outputs(b, cfg, outputs, [h, c])


def _step_inputs(b, cfg, x: str, kernel, bias) -> list[str]:
    """Every step's input projection ``x_t W + b`` of an unrolled layer: one
    FULLY_CONNECTED over the sequence, UNPACKed into steps (the last first with
    go_backwards)."""
    steps = b.shape(x, 3)[1]
    projected = b.op("FULLY_CONNECTED", [x, b.const(kernel.T, suffix="kernel"),
                                         b.const(bias, suffix="bias")],
                     {"keep_num_dims": True}, suffix="input_projection")
    by_step = b.op("UNPACK", [projected], {"num": steps, "axis": 1}, n_outputs=steps,
                   suffix="step")
    by_step = by_step if steps > 1 else [by_step]
    return by_step[::-1] if cfg.bool("go_backwards", False) else by_step


def _unrolled_outputs(b, cfg, outputs: list[str], states: list[str]):
    """An unrolled layer's outputs: every step's (PACK) or the last, then the states."""
    y = b.op("PACK", outputs, {"values_count": len(outputs), "axis": 1}) \
        if cfg.bool("return_sequences", False) else outputs[-1]
    return [y, *states] if cfg.bool("return_state", False) else y


def _split(b, x: str, parts: int) -> list[str]:
    """``x`` [batch, parts * units] cut into ``parts`` [batch, units] along its last axis."""
    return b.op("SPLIT", [b.const(1, np.int32, "axis"), x], {"num_splits": parts},
                n_outputs=parts)
