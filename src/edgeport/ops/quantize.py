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
from ..arrays import array_namespace
from ..fixedpoint import multiply_by_quantized_multiplier
from .affine import QUANTIZED_TYPES, dequantize, quantize
from .options import Options
from .quant_rules import Unquantized
from .quantized import quant_of, rescale_multiplier
from .registry import OpDef, register_op, traceable

@register_op("DEQUANTIZE")
class Dequantize(OpDef):
    """int8/uint8/int16 (per tensor or per axis) or float16 -> float32."""

    options = Options("DequantizeOptions")
    traces = False  # its kernel is bound in prepare
    quant = Unquantized()

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
    traces = False  # its kernel is bound in prepare
    quant = Unquantized()

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
