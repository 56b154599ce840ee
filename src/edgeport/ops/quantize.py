"""QUANTIZE and DEQUANTIZE: moving between float32 and affine-quantized integers.

Both read the QuantParams of their tensors, so they bind them in ``prepare``. The arithmetic is
TFLite's reference kernels' (tensorflow/lite/kernels/internal/reference/dequantize.h,
quantize.h, requantize.h), so results are bit-exact:
- dequantize: ``float(scale * (q - zero_point))``, per tensor or per ``axis``; float16 -> float32
  is an exact widening (how mediapipe models store float16 weights);
- quantize: ``clamp(TfLiteRound(x / scale) + zero_point)``, halves rounding away from zero;
- requantize (integer in, integer out): ``MultiplyByQuantizedMultiplier`` with the multiplier of
  ``in_scale / out_scale``, gemmlowp's double rounding.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..arrays import array_namespace, divide_as_c
from ..fixedpoint import multiply_by_quantized_multiplier, round_half_away
from ..graph import QuantParams
from .options import Options
from .quantized import quant_of, rescale_multiplier
from .registry import OpDef, register_op, traceable

QUANTIZED_TYPES = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.int16))


def axis_view(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """Per-axis parameters shaped to broadcast along ``axis`` of an ``ndim``-D tensor."""
    shape = [1] * ndim
    shape[axis] = values.size
    return values.reshape(shape)


def dequantize(q: np.ndarray, quant: QuantParams) -> np.ndarray:
    """``scale * (q - zero_point)`` in float32. The integer difference is exact in float32 and
    the product is rounded once, as TFLite's double-precision ``scale * (val - zero_point)``
    cast to float is."""
    centered = q.astype(np.int32)
    scale, zero_point = quant.scale, quant.zero_point.astype(np.int32)
    if quant.per_axis:
        scale = axis_view(scale, quant.axis, q.ndim)
        zero_point = axis_view(zero_point, quant.axis, q.ndim)
    return (centered - zero_point).astype(np.float32) * scale


def quantize(x: np.ndarray, quant: QuantParams, dtype: np.dtype) -> np.ndarray:
    """AffineQuantize: ``clamp(TfLiteRound(x / scale) + zero_point)`` into ``dtype``; the
    division is float32, as in TFLite. Per-axis parameters quantize each slice of ``axis``."""
    scale, zero_point = quant.scale, quant.zero_point
    if quant.per_axis:
        scale = axis_view(scale, quant.axis, x.ndim)
        zero_point = axis_view(zero_point, quant.axis, x.ndim)
    info, xp = np.iinfo(dtype), array_namespace(x)
    # Clamp before the integer cast: TFLite's cast of an out-of-range float is undefined, and
    # any value past the int range clamps to the same end anyway.
    quotient = divide_as_c(x.astype(np.float32), scale)
    rounded = xp.clip(round_half_away(quotient), -2.0 ** 31, 2.0 ** 31 - 1)
    return xp.clip(rounded.astype(np.int64) + zero_point, info.min, info.max).astype(dtype)


@register_op("DEQUANTIZE")
class Dequantize(OpDef):
    """int8/uint8/int16 (per tensor or per axis) or float16 -> float32."""

    options = Options("DequantizeOptions")

    def prepare(self, op, graph):
        dtype = graph.tensors[op.inputs[0]].dtype
        if dtype == np.float16:
            return traceable(lambda inputs: [inputs[0].astype(np.float32)])
        if dtype not in QUANTIZED_TYPES:
            raise UnsupportedOpError(f"{op.label}: cannot dequantize {dtype} (takes int8, "
                                     "uint8, int16 or float16)")
        quant = quant_of(op, graph, op.inputs[0])
        return traceable(lambda inputs: [dequantize(inputs[0], quant)])

    def version(self, op, graph):
        source = graph.tensors[op.inputs[0]]
        if source.dtype in (np.int16, np.float16):
            return 3
        if source.dtype == np.int8:
            return 5 if source.quant is not None and source.quant.per_axis else 2
        return 1


@register_op("QUANTIZE")
class Quantize(OpDef):
    """float32 -> int8/uint8/int16, or requantize int8/uint8 -> int8/uint8 and
    int16 -> int8/int16, to the output tensor's QuantParams."""

    options = Options("QuantizeOptions")

    def prepare(self, op, graph):
        source, target = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if target.dtype not in QUANTIZED_TYPES:
            raise UnsupportedOpError(f"{op.label}: cannot quantize to {target.dtype} (takes "
                                     "int8, uint8 or int16)")
        out_quant = quant_of(op, graph, op.outputs[0])
        if source.dtype == np.float32:
            return traceable(lambda inputs: [quantize(inputs[0], out_quant, target.dtype)])
        requantizable = ({np.dtype(np.int8), np.dtype(np.uint8)} if source.dtype != np.int16
                         else {np.dtype(np.int8), np.dtype(np.int16)})
        if source.dtype not in QUANTIZED_TYPES or target.dtype not in requantizable:
            raise UnsupportedOpError(f"{op.label}: QUANTIZE from {source.dtype} to "
                                     f"{target.dtype} is not supported (TFLite neither)")
        in_quant = quant_of(op, graph, op.inputs[0])
        if in_quant.per_axis or out_quant.per_axis:
            raise UnsupportedOpError(f"{op.label}: requantizing per-axis tensors is not "
                                     "supported (TFLite requantizes per tensor only)")
        # The effective scale is computed in double from the float scales (quantize.cc).
        multiplier, shift = rescale_multiplier(op, graph, float(in_quant.scale[0])
                                               / float(out_quant.scale[0]))
        in_zero, out_zero = int(in_quant.zero_point[0]), int(out_quant.zero_point[0])
        info = np.iinfo(target.dtype)

        def requantize(inputs):
            centered = inputs[0].astype(np.int64) - in_zero
            scaled = multiply_by_quantized_multiplier(centered, multiplier, shift) + out_zero
            return [array_namespace(scaled).clip(scaled, info.min, info.max)
                    .astype(target.dtype)]

        return traceable(requantize)

    def version(self, op, graph):
        quant = graph.tensors[op.outputs[0]].quant
        if quant is not None and quant.per_axis:
            return 3
        return 2 if graph.tensors[op.outputs[0]].dtype == np.int16 else 1
