"""PAD and PADV2: constant padding of every axis by a [rank, 2] (before, after) paddings
tensor. PAD fills with 0 (a later int8 kernel fills with the zero point); PADV2 fills with its
optional scalar constant_values input, which has the input's dtype."""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from .options import Options
from .quant_rules import SameAsInput
from .registry import OpDef, register_op, traceable
from .reshape import dtype_version, input_tensor


def pad(x: np.ndarray, paddings: np.ndarray, value=0) -> np.ndarray:
    """``x`` padded per axis by paddings[axis] = (before, after) with ``value``; a jax array
    by jax.numpy's pad (the paddings are constants while tracing)."""
    widths = np.asarray(paddings, dtype=np.int64).reshape(x.ndim, 2)
    if (widths < 0).any():
        raise ValueError(f"paddings must be non-negative, got {widths.tolist()}")
    xp = array_namespace(x)
    if xp is not np:
        return xp.pad(x, widths, constant_values=value)
    return pad_constant(x, widths.tolist(), value)


def pad_constant(x: np.ndarray, widths, value=0) -> np.ndarray:
    """``x`` padded per axis by widths[axis] = (before, after) (non-negative) with ``value``:
    each border slab is filled, then the input copied in, one pass each (np.pad does the same
    with 20 us more overhead per call, which a model's many small pads add up)."""
    out = np.empty([n + before + after for n, (before, after) in zip(x.shape, widths)],
                   x.dtype)
    for axis, (before, after) in enumerate(widths):
        leading = (slice(None),) * axis
        if before:
            out[leading + (slice(0, before),)] = value
        if after:
            out[leading + (slice(out.shape[axis] - after, None),)] = value
    out[tuple(slice(before, before + n) for n, (before, _) in zip(x.shape, widths))] = x
    return out


class _PadBase(OpDef):
    static_inputs = (1, 2)
    def shape(self, attrs, x, paddings, *_):
        if paddings.value is not None:
            return None
        return [tuple(x.shape)]  # runtime paddings: a placeholder guess (no padding)

    def version(self, op, graph):
        x = input_tensor(op, graph)
        if len(x.shape) > 4:
            return 4
        return dtype_version(x.dtype, {np.int16: 3, np.int8: 2})


@register_op("PAD")
class Pad(_PadBase):
    options = Options("PadOptions")
    quant = SameAsInput(moves_data=False)  # fills with the zero point

    def run_float(self, attrs, x, paddings):
        return pad(x, paddings)

    def prepare_integer(self, op, graph):
        # pad.cc: a quantized PAD fills with the output's zero point (the real value 0).
        zero = int(graph.tensors[op.outputs[0]].quant.zero_point[0])
        return traceable(lambda inputs: [pad(inputs[0], inputs[1], zero)])


@register_op("PADV2")
class PadV2(_PadBase):
    quant = SameAsInput()  # pads with its constant_values input, on the input's grid
    options = Options("PadV2Options")

    def run_float(self, attrs, x, paddings, constant_values=None):
        return pad(x, paddings, 0 if constant_values is None else np.ravel(constant_values)[0])
