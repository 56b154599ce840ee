"""The integer kernel of UNIDIRECTIONAL_SEQUENCE_LSTM, bit-exact with LiteRT's: the "8x8_16" LSTM
of tensorflow/lite/kernels/lstm_eval.cc (EvalInteger8x8_16), which a full-integer model runs.

Its tensors: the input, the output and the output state (h) int8, the weights int8 symmetric per
tensor, the gate biases int32 at ``s_input * s_weight``, the cell state (c) int16 on a
power-of-two scale ``2**cell_exp`` with ``-15 <= cell_exp <= -9``, and five *intermediate*
tensors whose quantization the kernel reads: four gate scales (used with layer normalization
only; otherwise the gates are Q3.12) and the hidden state ``o * tanh(c)``'s int8 grid, which,
without a projection, is the output's. Each time step, for each gate (forget, cell update,
input, output):

    gate = sat16(sat16(rescale(x W^T + b + (-zp_x) rowsum W)) + rescale(h R^T + (-zp_h) rowsum R))

then sigmoid (or tanh, cell gate) as gemmlowp's int16 fixed point from Q3.12 to Q0.15;
``c = sat16(f * c >> 15 + i * g >> (30 + cell_exp))``; ``h = sat8(rescale(o * tanh(c)) + zp)``.
(The prepare step of unidirectional_sequence_lstm.cc, PopulateQuantizedLstmParams8x8_16 and
PrecomputeZeroPointTimesWeightWithBias, computes the effective scales in float32 and folds the
zero points into the biases, as here.) One step is written for NumPy and jax arrays alike; the
jax backend runs it under ``lax.scan``. The int16 sigmoid and tanh are looked up in tables of
gemmlowp's functions at every raw value.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..arrays import array_namespace
from ..errors import UnsupportedOpError
from ..fixedpoint import (logistic, multiply_by_quantized_multiplier, quantize_multiplier,
                          rounding_divide_by_pot, tanh)
from .lstm_slots import (CELL_STATE, GATE_BIASES, GATES, INPUT, INPUT_WEIGHTS,
                         LAYER_NORM_WEIGHTS, LSTM_INPUTS, OUTPUT_STATE, PEEPHOLES,
                         PROJECTION_WEIGHTS, RECURRENT_WEIGHTS)

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
GATE_SCALE = 2.0 ** -12  # Q3.12: the gates' scale without layer normalization
CELL_EXPONENTS = range(-15, -8)  # ApplyTanh's integer bits 15 + cell_exp must be 0..6
HIDDEN = 4  # the intermediate holding the hidden state's grid


def integer_lstm_kernel(op, graph):
    """The kernel of a quantized UNIDIRECTIONAL_SEQUENCE_LSTM ``op``. Refuses what LiteRT's
    integer kernel has no form for (a cell activation other than tanh) and what edgeport's does
    not compute (peepholes, layer normalization, a projection: `integer_gaps`)."""
    inputs = list(op.inputs) + [None] * (LSTM_INPUTS - len(op.inputs))

    def tensor(slot):
        return None if inputs[slot] is None else graph.tensors[inputs[slot]]

    def scale_zero(t):
        return np.float32(t.quant.scale[0]), int(t.quant.zero_point[0])

    gaps = integer_gaps(op)
    if gaps:
        raise UnsupportedOpError(f"{op.label}: edgeport's integer LSTM has {' or '.join(gaps)}; "
                                 "keep this LSTM float")
    if len(op.intermediates) != 5:
        raise UnsupportedOpError(f"{op.label}: an integer LSTM needs its five intermediate "
                                 f"tensors, the model has {len(op.intermediates)}")
    x_scale, x_zero = scale_zero(tensor(INPUT))
    h_scale, h_zero = scale_zero(tensor(OUTPUT_STATE))
    cell = tensor(CELL_STATE)
    cell_exp = math.log2(float(cell.quant.scale[0]))
    if cell.dtype != np.int16 or cell_exp not in CELL_EXPONENTS:
        raise UnsupportedOpError(f"{op.label}: the cell state must be int16 on a scale 2**-15 "
                                 f"... 2**-9, not {cell.dtype} at {float(cell.quant.scale[0])}")
    cell_exp = int(cell_exp)
    hidden_scale, hidden_zero = scale_zero(graph.tensors[op.intermediates[HIDDEN]])

    gates = {}
    for k, name in enumerate(GATES):
        w, r = tensor(INPUT_WEIGHTS + k), tensor(RECURRENT_WEIGHTS + k)
        if w is None:
            continue  # CIFG: no input gate
        bias = tensor(GATE_BIASES + k)
        w_data, r_data = w.data.astype(np.int64), r.data.astype(np.int64)
        folded = -x_zero * w_data.sum(axis=1)
        if bias is not None:
            folded = folded + bias.data.astype(np.int64)
        gates[name] = (w_data.T, folded, _multiplier(w.quant.scale[0] * x_scale),
                       r_data.T, -h_zero * r_data.sum(axis=1),
                       _multiplier(r.quant.scale[0] * h_scale))
    # std::pow(2, -15) is a double: 2**-30 / s_hidden in double, stored in a float
    hidden = quantize_multiplier(float(np.float32(2.0 ** -15 / float(hidden_scale) * 2.0 ** -15)))
    clip = _quantized_clip(op.attrs.get("cell_clip", 0.0), cell.quant.scale[0])
    time_major = op.attrs.get("time_major", False)

    def step(state, x_t):
        h, c = state
        xp = array_namespace(x_t, h)

        def gate(name, activate):
            w_t, w_bias, w_scale, r_t, r_bias, r_scale = gates[name]
            # MatrixBatchVectorMultiplyAccumulate into int16, input then recurrent part
            g = xp.clip(multiply_by_quantized_multiplier(x_t @ w_t + w_bias, *w_scale),
                        INT16_MIN, INT16_MAX)
            g = xp.clip(multiply_by_quantized_multiplier(h @ r_t + r_bias, *r_scale) + g,
                        INT16_MIN, INT16_MAX)
            return activate(g)

        def sigmoid(g):
            return _lookup(xp, _table("logistic", 3), g)

        f = gate("forget", sigmoid)
        g = gate("cell", lambda v: _lookup(xp, _table("tanh", 3), v))
        i = INT16_MAX - f if "input" not in gates else gate("input", sigmoid)
        # UpdateLstmCellInteger: CwiseMul by shifts (int16_t casts), CwiseAdd saturating
        c = _wrap16(rounding_divide_by_pot(f * c, 15)) + \
            _wrap16(rounding_divide_by_pot(i * g, 30 + cell_exp))
        c = xp.clip(c, INT16_MIN, INT16_MAX)
        if clip > 0:
            c = xp.clip(c, -clip, clip)
        o = gate("output", sigmoid)
        # CalculateLstmOutputInteger8x8_16: tanh of the cell state, times o, onto h's grid
        product = o * _lookup(xp, _table("tanh", 15 + cell_exp), c)
        h = xp.clip(multiply_by_quantized_multiplier(product, *hidden) + hidden_zero, -128, 127)
        return (h, c), h

    def kernel(arrays):
        x, h0, c0 = arrays[INPUT], arrays[OUTPUT_STATE], arrays[CELL_STATE]
        xp = array_namespace(x, h0, c0)
        sequence = x if time_major else xp.swapaxes(x, 0, 1)
        state = (xp.asarray(h0, dtype=xp.int64), xp.asarray(c0, dtype=xp.int64))
        sequence = xp.asarray(sequence, dtype=xp.int64)
        if xp is np:
            ys = []
            for x_t in sequence:
                state, y_t = step(state, x_t)
                ys.append(y_t)
            ys = np.stack(ys)
        else:
            from jax import lax

            state, ys = lax.scan(step, state, sequence)
        ys = ys if time_major else xp.swapaxes(ys, 0, 1)
        h, c = state
        return [ys.astype(xp.int8), h.astype(xp.int8), c.astype(xp.int16)]

    return kernel


def integer_gaps(op) -> list[str]:
    """What the LSTM ``op`` uses that the integer kernel has no form for (empty: none)."""
    inputs = list(op.inputs) + [None] * (LSTM_INPUTS - len(op.inputs))

    def present(first, count):
        return any(inputs[first + k] is not None for k in range(count))

    gaps = [f"no {what}" for what, there in (
        ("peepholes", present(PEEPHOLES, 3)),
        ("layer normalization", present(LAYER_NORM_WEIGHTS, 4)),
        ("projection", present(PROJECTION_WEIGHTS, 1))) if there]
    activation = op.attrs.get("fused_activation_function", "NONE")
    if activation != "TANH":
        gaps.append(f"a tanh cell activation only, not {activation}")
    return gaps


@functools.lru_cache(maxsize=None)
def _table(function: str, integer_bits: int) -> np.ndarray:
    """gemmlowp's int16 logistic or tanh of a FixedPoint<integer_bits> at every raw value,
    indexed by ``raw + 32768``: the exact function, looked up rather than recomputed per step."""
    raw = np.arange(INT16_MIN, INT16_MAX + 1, dtype=np.int64)
    return {"logistic": logistic, "tanh": tanh}[function](raw, integer_bits, bits=16)


def _lookup(xp, table: np.ndarray, raw):
    return xp.take(xp.asarray(table), raw + (1 << 15))


def _multiplier(real) -> tuple[int, int]:
    """QuantizeMultiplier of an effective gate scale ``s_w * s_in / 2**-12``, in float32 as
    LiteRT computes it."""
    return quantize_multiplier(float(np.float32(np.float32(real) / np.float32(GATE_SCALE))))


def _quantized_clip(clip: float, scale) -> int:
    """The cell clip on the cell state's grid: float32 division, clamped, truncated."""
    if not clip > 0:
        return 0
    return int(min(max(np.float32(clip) / np.float32(scale), -32768.0), 32767.0))


def _wrap16(x):
    """Values as a C++ int16_t cast leaves them (two's complement)."""
    return (x + (1 << 15)) % (1 << 16) - (1 << 15)
