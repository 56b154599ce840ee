"""Recurrent layers: LSTM and SimpleRNN, as TFLite's fused sequence ops.

Each becomes one UNIDIRECTIONAL_SEQUENCE_LSTM / _RNN, called through IF so that the model stays
stateless and resizable in batch (frontends/recurrent.py). Keras' weights map one to one: its
kernel [features, 4 * units] holds the gates in the order i, f, c, o, which TFLite takes as four
[units, features] matrices (each gate's slice, transposed); the recurrent kernel and the bias
split the same way. TFLite's gates are sigmoids, and its cell activation is one of its fused
activations, so the layer's activations must be among those. go_backwards reverses the input
in time (REVERSE_V2); like Keras, the outputs then stay in the order they were computed.
"""

from __future__ import annotations

import numpy as np

from ...recurrent import RecurrentOp, emit_recurrent
from . import keras_layer
from .activations import activation_name

# Keras cell activations and the TFLite fused activation computing them.
CELL_ACTIVATIONS = {"tanh": "TANH", "relu": "RELU", "relu6": "RELU6"}
LSTM_GATES = 4


@keras_layer("LSTM", inputs=None)
def lstm(b, cfg, inputs):
    """LSTM(units): inputs are the sequence and, optionally, the initial states [h, c]."""
    x, initial = _sequence_input(b, cfg, inputs, states=2)
    units = cfg.int("units", minimum=1)
    features = b.shape(x, 3)[-1]
    if activation_name(cfg.get("recurrent_activation", "sigmoid")) != "sigmoid":
        raise b.unsupported(f"recurrent_activation "
                            f"{activation_name(cfg.get('recurrent_activation'))!r}: TFLite's "
                            "fused LSTM computes its gates with sigmoid only; retrain with "
                            "recurrent_activation='sigmoid'")
    use_bias = cfg.bool("use_bias", True)
    weights = b.weights((features, LSTM_GATES * units), (units, LSTM_GATES * units),
                        *([(LSTM_GATES * units,)] if use_bias else []))
    kernel, recurrent = weights[0], weights[1]
    # LiteRT crashes on absent gate biases: zeros stand in for use_bias=False
    bias = weights[2] if use_bias else np.zeros(LSTM_GATES * units, np.float32)
    constants = {}
    for gate in range(LSTM_GATES):
        part = slice(gate * units, (gate + 1) * units)
        constants[1 + gate] = np.ascontiguousarray(kernel[:, part].T)
        constants[5 + gate] = np.ascontiguousarray(recurrent[:, part].T)
        constants[12 + gate] = bias[part].copy()
    spec = RecurrentOp("UNIDIRECTIONAL_SEQUENCE_LSTM",
                       {"fused_activation_function": _cell_activation(b, cfg),
                        "cell_clip": 0.0, "proj_clip": 0.0, "time_major": False},
                       constants, n_inputs=24, state_slots=(18, 19), state_sizes=(units, units),
                       units=units)
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


def _sequence_input(b, cfg, inputs, states: int):
    """(the sequence, its initial states or None), refusing what the fused op cannot do."""
    if cfg.bool("stateful", False):
        raise b.unsupported("stateful=True: the state would carry from one call to the "
                            "next; convert the layer with stateful=False (the default) and "
                            "feed the state back as initial_state inputs")
    if len(inputs) not in (1, 1 + states):
        raise b.unsupported(f"takes a sequence and {states} initial state(s), the model "
                            f"gives it {len(inputs)} inputs")
    x = inputs[0]
    if cfg.bool("go_backwards", False):
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
