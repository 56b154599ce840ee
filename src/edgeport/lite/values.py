"""Float values into and out of a model's integer tensors, by their tf.lite tensor details
(from edgeport's Interpreter or LiteRT's): float data fed to an int8 model, its outputs read
as floats. Quantizing is TFLite's QUANTIZE op to the bit (halves round away from zero), and
dequantizing its DEQUANTIZE, so a model with integer I/O gives the same numbers as the same
model with float I/O and QUANTIZE/DEQUANTIZE ops at its ends."""

from __future__ import annotations

import numpy as np

from ..graph import QuantParams
from ..ops.affine import QUANTIZED_TYPES, dequantize, quantize


def quant_params(detail: dict) -> QuantParams | None:
    """The quantization of a tensor, from its details; None when it has none."""
    params = detail["quantization_parameters"]
    if np.size(params["scales"]) == 0:
        return None
    return QuantParams(params["scales"], params["zero_points"],
                       int(params["quantized_dimension"]))


def is_quantized(detail: dict) -> bool:
    """Whether the tensor holds affine-quantized integers (int8, uint8 or int16 with a scale)."""
    return np.dtype(detail["dtype"]) in QUANTIZED_TYPES and quant_params(detail) is not None


def quantize_input(value: np.ndarray, detail: dict) -> np.ndarray:
    """Float ``value`` quantized with the tensor's scale and zero point into its dtype."""
    return quantize(np.asarray(value), quant_params(detail), np.dtype(detail["dtype"]))


def dequantize_output(value: np.ndarray, detail: dict) -> np.ndarray:
    """An integer tensor's ``value`` as float32 reals; any other tensor's as float32."""
    if not is_quantized(detail):
        return np.asarray(value).astype(np.float32, copy=False)
    return dequantize(np.asarray(value), quant_params(detail))
