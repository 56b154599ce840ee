"""Affine quantization arithmetic, ``real = scale * (q - zero_point)``, as TFLite's reference
kernels compute it (kernels/internal/reference/dequantize.h, quantize.h), bit-exact: what the
QUANTIZE and DEQUANTIZE ops (quantize.py), hybrid ops' weights (`OpDef.prepare_hybrid`) and the
quantizer's constants use.
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace, divide_as_c
from ..fixedpoint import round_half_away
from ..graph import QuantParams

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
