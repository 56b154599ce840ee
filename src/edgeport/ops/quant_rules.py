"""How the int8 quantizer treats an op's tensors: the rule each `OpDef` declares as ``quant``
(TFLite's 8-bit quantization spec, tensorflow/lite/g3doc/performance/quantization_spec.md, per
op). The quantization plan (quantize/plan.py) turns the rules into a grid per tensor, which
post-training quantization (quantize/ptq.py) materializes and quantization-aware training
(edgeport.qat) fake-quantizes along.

A rule also says whether the op's float kernel runs on quantized integers as it is
(``moves_data``: an op that only moves, copies or selects elements, whose input and output share
their parameters), which `OpDef.prepare_integer` then does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import QuantParams


class QuantRule:
    """Base of the rules; ``moves_data`` is False unless a rule says otherwise."""

    moves_data: bool = False


@dataclass(frozen=True)
class Calibrated(QuantRule):
    """The default: each float input on its own grid (a calibrated activation's, a constant's
    from its own range) and each output on its own calibrated range. ``moves_data``: the
    output is no quantized value (ARG_MAX's index)."""

    moves_data: bool = False


@dataclass(frozen=True)
class SameAsInput(QuantRule):
    """The output on the grid of the op's first quantized input, which its later inputs share
    (PADV2's constant_values): pools, reshapes, slices, pads, resizes, REDUCE_MAX (the spec's
    "input and output must share parameters"). ``moves_data`` unless the op has an integer
    kernel of its own (False)."""

    moves_data: bool = True


@dataclass(frozen=True)
class Shared(QuantRule):
    """Every input, constants included, and the output on one grid, the output's calibrated
    range, to which each input is requantized: CONCATENATION, PACK, MAXIMUM, MINIMUM."""

    moves_data: bool = True


@dataclass(frozen=True)
class Fixed(QuantRule):
    """The output on the fixed grid its integer kernel assumes (SOFTMAX: 1/256, -128)."""

    scale: float
    zero_point: int

    def params(self) -> QuantParams:
        return QuantParams([np.float32(self.scale)], [self.zero_point])


@dataclass(frozen=True)
class Weighted(QuantRule):
    """A weighted sum: the data input (``data``) calibrated; the constant weights (input
    ``weights``) symmetric int8 in [-127, 127], zero point 0, per output channel (their
    ``axis``) or per tensor; the bias (input ``bias``) int32 at ``s_in * s_w[c]``, zero point
    0; the output calibrated. ``needs_bias``: LiteRT's int8 kernel requires a bias input, so a
    zero one is written where the float op has none."""

    weights: int
    bias: int
    axis: int
    data: int = 0
    needs_bias: bool = False


@dataclass(frozen=True)
class Unquantized(QuantRule):
    """Never rewritten to int8 (type conversions, shape queries): the op stays as it is.
    ``moves_data``: a quantized model's op still runs on integers (SHAPE)."""

    moves_data: bool = False
