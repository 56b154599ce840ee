"""The arithmetic of int8 quantization parameters (TFLite's 8-bit quantization spec,
tensorflow/lite/g3doc/performance/quantization_spec.md); which tensors of an op get which is
the op's own rule (`OpDef.quant`, edgeport.ops.quant_rules), read through `quant_rule`.

- Activations: asymmetric int8 per tensor from a calibrated range, nudged so that the real
  value 0 is exactly representable (GetAsymmetricQuantizationParams).
- Weights of the weighted-sum ops: symmetric int8 in [-127, 127], zero point 0, per output
  channel (the `Weighted` rule's axis) or per tensor.
- Bias: int32, zero point 0, scale ``s_in * s_w[c]`` multiplied in float32.
- Other constants: asymmetric int8 per tensor from their own range (or the shared parameters).
"""

from __future__ import annotations

import numpy as np

from ..fixedpoint import round_half_away
from ..graph import QuantParams
from ..ops.affine import quantize
from ..ops.quant_rules import QuantRule, Unquantized, Weighted
from ..ops.registry import OpDef, get_op

INT8_MIN, INT8_MAX = -128, 127
INT32_LIMIT = 2 ** 31 - 1


def quant_rule(op_type: str) -> QuantRule | None:
    """The quantization rule of ``op_type`` (None for an op edgeport does not define)."""
    opdef = get_op(op_type)
    return None if opdef is None else opdef.quant


def weighted_inputs(op_type: str) -> tuple:
    """(weights input, per-channel axis, bias input, data input) of a weighted-sum op, four
    Nones for any other."""
    rule = quant_rule(op_type)
    if not isinstance(rule, Weighted):
        return None, None, None, None
    return rule.weights, rule.axis, rule.bias, rule.data


def weights_axis(op_type: str, axis: int, per_channel: bool, per_channel_dense: bool
                 ) -> int | None:
    """The axis ``op_type``'s weights are quantized along, or None for per tensor:
    ``per_channel=False`` makes every op per tensor, ``per_channel_dense=False`` only
    FULLY_CONNECTED (TFLite Micro's int8 kernel takes no per-channel weights)."""
    if per_channel and (per_channel_dense or op_type != "FULLY_CONNECTED"):
        return axis
    return None


def has_integer_kernel(op_type: str) -> bool:
    """Whether edgeport runs ``op_type`` on int8 (it has an integer kernel, or only moves
    data): the ops the quantizer may rewrite. Kernels added later are picked up as they land."""
    opdef = get_op(op_type)
    if opdef is None or isinstance(opdef.quant, Unquantized):
        return False
    return opdef.moves_data or type(opdef).prepare_integer is not OpDef.prepare_integer


def activation_params(low: float, high: float, dtype=np.int8) -> QuantParams:
    """Asymmetric per-tensor parameters covering [low, high] (widened to include 0), the zero
    point nudged to an integer so that 0.0 is exact; uint8 shifts the zero point by 128."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    scale = np.float32((high - low) / (INT8_MAX - INT8_MIN))
    if not scale > 1e-9:
        scale = np.float32(1e-9 if high > low else 1.0)
    zero = int(np.clip(round_half_away(np.float64(INT8_MIN - low / np.float64(scale))),
                       INT8_MIN, INT8_MAX))
    if np.dtype(dtype) == np.uint8:
        zero += 128
    return QuantParams([scale], [zero])


def as_uint8(params: QuantParams) -> QuantParams:
    """The same real grid on uint8: zero point + 128."""
    return QuantParams(params.scale, params.zero_point + 128)


def symmetric_weights(w: np.ndarray, axis: int | None) -> tuple[np.ndarray, QuantParams]:
    """Symmetric int8 weights: ``scale = max|w| / 127`` per ``axis`` slice (per tensor when
    None), zero point 0, values in [-127, 127]. An all-zero slice gets scale 1."""
    w = np.asarray(w, np.float32)
    if axis is None:
        amax = np.abs(w).max(initial=0.0).reshape(1)
        view = amax
    else:
        axis %= w.ndim
        others = tuple(a for a in range(w.ndim) if a != axis)
        amax = np.abs(w).max(axis=others, initial=0.0) if others else np.abs(w)
        shape = [1] * w.ndim
        shape[axis] = -1
        view = amax.reshape(shape)
    scale = (amax / np.float32(127)).astype(np.float32)
    scale[scale == 0] = 1.0
    view_scale = scale.reshape(view.shape)
    q = np.clip(round_half_away(w / view_scale), -127, 127).astype(np.int8)
    return q, QuantParams(scale, np.zeros(scale.size, np.int64), axis or 0)


def bias_int32(b: np.ndarray, in_scale, w_scales: np.ndarray) -> tuple[np.ndarray, QuantParams]:
    """The int32 bias at ``s_in * s_w[c]`` (the product in float32, as LiteRT checks it)."""
    scales = (np.float32(in_scale) * np.asarray(w_scales, np.float32)).astype(np.float32)
    q = round_half_away(np.asarray(b, np.float64) / scales.astype(np.float64))
    q = np.clip(q, -INT32_LIMIT, INT32_LIMIT).astype(np.int32)
    return q, QuantParams(scales, np.zeros(scales.size, np.int64), 0)


def quantize_constant(x: np.ndarray, params: QuantParams, dtype=np.int8) -> np.ndarray:
    """A float constant on the grid of ``params`` (AffineQuantize)."""
    return quantize(np.asarray(x, np.float32), params, np.dtype(dtype))


def constant_params(x: np.ndarray) -> QuantParams:
    """Per-tensor asymmetric parameters of a constant from its own range."""
    x = np.asarray(x, np.float32)
    return activation_params(float(x.min(initial=0.0)), float(x.max(initial=0.0)))


def same_params(a: QuantParams | None, b: QuantParams | None) -> bool:
    return (a is not None and b is not None and np.array_equal(a.scale, b.scale)
            and np.array_equal(a.zero_point, b.zero_point))
