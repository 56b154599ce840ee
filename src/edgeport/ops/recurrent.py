"""Recurrent ops over a whole sequence: UNIDIRECTIONAL_SEQUENCE_LSTM and UNIDIRECTIONAL_SEQUENCE_RNN.

Each takes its state through TFLite *variable tensors* (inputs without data that the op
updates in place: `OpDef.variable_inputs`): the kernel starts from their values and returns
the final state after its output, which the interpreter writes back, so the state carries
over to the next invoke as in LiteRT. (Converters keep a Keras layer stateless by calling the
op in a subgraph whose states are copied in fresh each time: frontends/recurrent.py.)

The float kernels mirror tensorflow/lite/kernels/lstm_eval.cc (EvalFloat) and
basic_rnn / unidirectional_sequence_rnn.cc step by step. One time step is one function written
for NumPy and jax arrays (`array_namespace`): NumPy loops over the steps, jax runs the same
step under ``lax.scan`` (one compiled step, whatever the sequence length). The LSTM's integer
kernel (full-integer models: int8 activations, an int16 cell state) is integer_lstm.py's.
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from ..errors import UnsupportedOpError
from .activations import apply_activation
from .integer_lstm import integer_lstm_kernel
from .lstm_slots import (CELL_STATE, GATE_BIASES, GATES, INPUT, INPUT_WEIGHTS,
                         LAYER_NORM_WEIGHTS, LSTM_INPUTS, OUTPUT_STATE, PEEPHOLES,
                         PROJECTION_BIAS, PROJECTION_WEIGHTS, RECURRENT_WEIGHTS)
from .options import Activation, Bool, Float, Options
from .registry import OpDef, register_op, traceable
from .versioning import dtype_of

# lstm_eval.cc kLayerNormEpsilon: MeanStddevNormalization divides by sqrt(variance + this).
LAYER_NORM_EPSILON = 1e-8



class SequenceOp(OpDef):
    """A recurrent op: its input is [batch, time, features] ([time, batch, ...] with
    time_major) and its fused activation is the cell's own (applied inside the kernel, not
    to the output)."""

    activates_output = False

    def _check_activation(self, attrs) -> str:
        activation = attrs.get("fused_activation_function", "NONE")
        if activation in ("NONE", "SIGN_BIT"):
            # LiteRT's kernels skip the activation there and read a scratch buffer instead
            # (measured: docs/research/litert-lstm.md); no one converts to it on purpose.
            raise UnsupportedOpError(f"{self.name}: fused_activation_function {activation} "
                                     "has no well-defined result in LiteRT")
        return activation

    def run_float(self, attrs, *inputs):
        step, state, sequence = self._prepare(attrs, inputs)
        ys = []
        for x_t in sequence:
            state, y_t = step(state, x_t)
            ys.append(y_t)
        xp = array_namespace(*sequence[:1], *state)
        return (self._layout(attrs, xp.stack(ys)), *state)

    def run_jax(self, attrs, *inputs):
        """The same step under ``lax.scan``: one traced step for any sequence length."""
        from jax import lax

        step, state, sequence = self._prepare(attrs, inputs)
        state, ys = lax.scan(step, tuple(state), sequence)
        return (self._layout(attrs, ys), *state)

    def _prepare(self, attrs, inputs):
        """(step, initial state, the input as a [time, batch, features] sequence)."""
        raise NotImplementedError

    def _check_states(self, batch: int, states) -> None:
        """Each state (array or spec) is [batch, size], as LiteRT's Prepare checks: a state
        tensor does not follow the input's batch, it is resized by its own index."""
        for state in states:
            shape = None if state is None else tuple(state.shape)
            if shape is None or len(shape) != 2 or shape[0] != batch:
                raise ValueError(f"{self.name}: a state of shape "
                                 f"{None if shape is None else list(shape)} does not fit the "
                                 f"batch of {batch}; resize the state tensors with the input")

    @staticmethod
    def _sequence(attrs, x):
        """The input as [time, batch, features]."""
        if x.ndim != 3:
            raise ValueError(f"takes a rank-3 sequence, got shape {list(x.shape)}")
        return x if attrs.get("time_major", False) else array_namespace(x).swapaxes(x, 0, 1)

    @staticmethod
    def _layout(attrs, ys):
        """Outputs stacked [time, batch, units] back to the op's layout."""
        return ys if attrs.get("time_major", False) else array_namespace(ys).swapaxes(ys, 0, 1)

    def shape(self, attrs, x, *rest):
        if len(x.shape) != 3:
            raise ValueError(f"{self.name} takes a rank-3 sequence, got shape {list(x.shape)}")
        self._check_activation(attrs)
        batch = x.shape[1] if attrs.get("time_major", False) else x.shape[0]
        self._check_states(batch, [rest[i - 1] for i in self.variable_inputs if i <= len(rest)])
        return [(*x.shape[:2], self.units(rest))]

    def units(self, rest) -> int:
        raise NotImplementedError


@register_op("UNIDIRECTIONAL_SEQUENCE_LSTM")
class UnidirectionalSequenceLstm(SequenceOp):
    """An LSTM over the time steps, with TFLite's options: CIFG (no input gate: i = 1 - f),
    peepholes, layer normalization, a projection, cell and projection clipping."""

    options = Options("UnidirectionalSequenceLSTMOptions", fused_activation_function=Activation,
                      cell_clip=Float, proj_clip=Float, time_major=Bool,
                      asymmetric_quantize_inputs=Bool, diagonal_recurrent_tensors=Bool)
    variable_inputs = (OUTPUT_STATE, CELL_STATE)
    hybrid_weights = (*range(INPUT_WEIGHTS, INPUT_WEIGHTS + 8), PROJECTION_WEIGHTS)

    def units(self, rest):
        # recurrent_to_forget_weights is [cells, outputs] (CIFG has no input gate's)
        return rest[RECURRENT_WEIGHTS + 1 - 1].shape[1]

    def _prepare(self, attrs, inputs):
        if attrs.get("diagonal_recurrent_tensors", False):
            raise UnsupportedOpError(f"{self.name}: diagonal_recurrent_tensors is not supported")
        inputs = list(inputs) + [None] * (LSTM_INPUTS - len(inputs))
        activation = self._check_activation(attrs)
        x = inputs[INPUT]
        xp = array_namespace(*(a for a in inputs if a is not None))
        sequence = self._sequence(attrs, x)
        w = dict(zip(GATES, inputs[INPUT_WEIGHTS:INPUT_WEIGHTS + 4]))
        r = dict(zip(GATES, inputs[RECURRENT_WEIGHTS:RECURRENT_WEIGHTS + 4]))
        peephole = dict(zip(("input", "forget", "output"), inputs[PEEPHOLES:PEEPHOLES + 3]))
        bias = dict(zip(GATES, inputs[GATE_BIASES:GATE_BIASES + 4]))
        norm = dict(zip(GATES, inputs[LAYER_NORM_WEIGHTS:LAYER_NORM_WEIGHTS + 4]))
        projection, projection_bias = inputs[PROJECTION_WEIGHTS], inputs[PROJECTION_BIAS]
        cifg = w["input"] is None
        cell_clip, proj_clip = attrs.get("cell_clip", 0.0), attrs.get("proj_clip", 0.0)
        dtype = x.dtype

        def sigmoid(v):
            return 1 / (1 + xp.exp(-v))

        def gate(name, x_t, h, c, act):
            # CalculateLstmGateFloat: W x + R h (+ peephole * c), then layer norm or the bias.
            z = x_t @ w[name].T + h @ r[name].T
            if peephole.get(name) is not None:
                z = z + peephole[name] * c
            if norm[name] is not None:
                mean = z.mean(axis=-1, keepdims=True)
                variance = (z * z).mean(axis=-1, keepdims=True) - mean * mean
                z = (z - mean) / xp.sqrt(variance + dtype.type(LAYER_NORM_EPSILON)) * norm[name]
            if bias[name] is not None:
                z = z + bias[name]
            return act(z)

        def activate(v):
            return apply_activation(v, activation, self.name)

        def step(state, x_t):
            h, c = state
            f = gate("forget", x_t, h, c, sigmoid)
            i = 1 - f if cifg else gate("input", x_t, h, c, sigmoid)
            g = gate("cell", x_t, h, c, activate)
            c = f * c + i * g  # UpdateLstmCellFloat
            if cell_clip > 0:
                c = xp.clip(c, -cell_clip, cell_clip)
            o = gate("output", x_t, h, c, sigmoid)  # its peephole sees the new cell state
            h = o * activate(c)  # CalculateLstmOutputFloat
            if projection is not None:
                h = h @ projection.T
                if projection_bias is not None:
                    h = h + projection_bias
                if proj_clip > 0:
                    h = xp.clip(h, -proj_clip, proj_clip)
            return (h, c), h

        states = (inputs[OUTPUT_STATE], inputs[CELL_STATE])
        self._check_states(sequence.shape[1], states)
        return step, states, sequence

    def cell_states(self, attrs, inputs) -> np.ndarray:
        """The float cell state after every step, [time, batch, units]: what calibration
        observes to choose the integer LSTM's int16 cell-state scale."""
        step, state, sequence = self._prepare(attrs, inputs)
        cells = []
        for x_t in sequence:
            state, _ = step(state, x_t)
            cells.append(state[1])
        return np.stack(cells)

    def prepare_integer(self, op, graph):
        return traceable(integer_lstm_kernel(op, graph))

    def version(self, op, graph):
        # op_version.cc: 5 int16 activations with int8 weights, 4 diagonal recurrent tensors,
        # 3 hybrid with asymmetric input quantization, 2 hybrid, 1 float.
        x, weights = (dtype_of(graph, _slot(op, i)) for i in (INPUT, INPUT_WEIGHTS + 1))
        if x == np.int16:
            return 5
        if op.attrs.get("diagonal_recurrent_tensors", False):
            return 4
        if x == np.float32 and weights == np.int8:
            return 3 if op.attrs.get("asymmetric_quantize_inputs", False) else 2
        return 1

    def macs_per_output(self, op, shapes):
        features = shapes.get(op.inputs[INPUT], (1,))[-1]
        units = shapes.get(op.outputs[0], (1,))[-1]
        return 4 * (features + units)


@register_op("UNIDIRECTIONAL_SEQUENCE_RNN")
class UnidirectionalSequenceRnn(SequenceOp):
    """``h = act(x W^T + h R^T + b)`` over the time steps (Keras SimpleRNN); inputs: the
    sequence, weights [units, features], recurrent weights [units, units], bias, the state."""

    options = Options("SequenceRNNOptions", time_major=Bool,
                      fused_activation_function=Activation, asymmetric_quantize_inputs=Bool)
    variable_inputs = (4,)
    hybrid_weights = (1, 2)

    def units(self, rest):
        return rest[0].shape[0]

    def _prepare(self, attrs, inputs):
        x, w, r, b, h0 = inputs
        activation = self._check_activation(attrs)

        def step(state, x_t):
            h = apply_activation(x_t @ w.T + state[0] @ r.T + b, activation, self.name)
            return (h,), h

        sequence = self._sequence(attrs, x)
        self._check_states(sequence.shape[1], (h0,))
        return step, (h0,), sequence

    def version(self, op, graph):
        # op_version.cc: 3 hybrid with asymmetric input quantization, 2 hybrid, 1 float.
        if dtype_of(graph, _slot(op, 0)) == np.float32 and dtype_of(graph, _slot(op, 1)) == \
                np.int8:
            return 3 if op.attrs.get("asymmetric_quantize_inputs", False) else 2
        return 1

    def macs_per_output(self, op, shapes):
        return shapes.get(op.inputs[0], (1,))[-1] + shapes.get(op.outputs[0], (1,))[-1]


def _slot(op, i: int) -> str | None:
    """The op's input at slot ``i`` (None where absent or beyond its inputs)."""
    return op.inputs[i] if i < len(op.inputs) else None
