"""Building blocks of the integer (quantized) kernels, shared by the op families.

Every quantized op works on ``q`` with ``real = (q - zero_point) * scale``. Its Prepare (TFLite's
kernels/*.cc) turns the float scales into fixed-point multipliers once; its Eval (reference
kernels, kernels/internal/reference/{integer_ops/*.h, reference_ops.h}) then runs integer-only
arithmetic. The helpers here are those two halves:
- `activation_range`: a fused activation on a quantized output is a clamp to
  CalculateActivationRangeQuantized's bounds (kernel_util.cc), never a float activation;
- `rescale_multiplier`, `multiplier_below_one`: Prepare's QuantizeMultiplier and
  QuantizeMultiplierSmallerThanOneExp, refusing (`scale_error`) the multipliers that LiteRT
  aborts on or computes garbage with (degenerate calibration ranges lead there);
- `requantize`: the output stage of every accumulating kernel, MultiplyByQuantizedMultiplier,
  plus the output zero point, clamped;
- `weighted_sum_kernel`: CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and TRANSPOSE_CONV, whose
  integer accumulators are their float kernels run on centered integers in float64 (every
  product and partial sum of 8-bit values is an integer far below 2**53, so the float64
  result is the exact int32 accumulator TFLite computes);
- `lookup_kernel`: an elementwise op of one 8-bit input is a 256-entry table of its reference
  arithmetic, computed once.
Each op's own integer kernel (its `prepare_integer`) lives in its op module, built from these.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import QuantizationError, UnsupportedOpError
from ..arrays import array_namespace
from ..fixedpoint import (multiply_by_quantized_multiplier, quantize_multiplier,
                          quantize_multipliers, round_half_away, wrap_int32)
from ..graph import Graph, Op, QuantParams
from . import compiled
from .activations import FUSED_ACTIVATIONS
from .registry import OpDef, traceable


def quant_of(op: Op, graph: Graph, name: str) -> QuantParams:
    """The QuantParams of tensor ``name``, which ``op``'s integer kernel cannot run without."""
    quant = graph.tensors[name].quant
    if quant is None:
        raise UnsupportedOpError(f"{op.label}: tensor {name!r} is {graph.tensors[name].dtype} "
                                 "without quantization parameters")
    return quant


def scale_zero(op: Op, graph: Graph, name: str) -> tuple[np.float32, int]:
    """(scale as float32, zero point) of a per-tensor quantized tensor."""
    quant = quant_of(op, graph, name)
    return np.float32(quant.scale[0]), int(quant.zero_point[0])


def in_out_params(op: Op, graph: Graph):
    """((s_in, zp_in), (s_out, zp_out)) of a one-input op, scales as float32."""
    return (scale_zero(op, graph, op.inputs[0]), scale_zero(op, graph, op.outputs[0]))


def output_info(op: Op, graph: Graph) -> np.iinfo:
    """The integer range of ``op``'s (first) output type."""
    return np.iinfo(graph.tensors[op.outputs[0]].dtype)


def clamp_to_output(values, op: Op, graph: Graph):
    """``values`` clamped to the range of ``op``'s output type (NumPy or jax)."""
    info = output_info(op, graph)
    return array_namespace(values).clip(values, info.min, info.max)


def activation_range(op: Op, graph: Graph, activation: str | None = None) -> tuple[int, int]:
    """CalculateActivationRangeQuantized (kernel_util.cc): the fused activation as clamp bounds
    of the output, ``zero_point + (int)TfLiteRound(f / scale)`` in float32, within the type's
    range. RELU: [q(0), max]; RELU6: [q(0), q(6)]; RELU_N1_TO_1: [q(-1), q(1)]. A bound past
    int32 (RELU6 on an output scale below 6 / 2**31) is refused: LiteRT's Prepare refuses it
    for a fused activation and computes garbage for a RELU op."""
    name = op.outputs[0]
    info = np.iinfo(graph.tensors[name].dtype)
    activation = activation or op.attrs.get("fused_activation_function", "NONE")
    bounds = FUSED_ACTIVATIONS[activation].bounds if activation in FUSED_ACTIVATIONS else None
    if bounds is None:
        raise UnsupportedOpError(f"{op.label}: fused activation {activation} has no quantized "
                                 "form")
    scale, zero = scale_zero(op, graph, name)

    def q(f):
        steps = float(round_half_away(np.float32(f) / scale))
        if not -2.0 ** 31 <= steps < 2.0 ** 31:
            raise scale_error(op, graph, f"its {activation} bound {f:g} is {steps:.3g} steps "
                                         f"of the output scale, past int32")
        return zero + int(steps)

    low, high = bounds
    return (info.min if low is None else max(q(low), info.min),
            info.max if high is None else min(q(high), info.max))


def rescale_multiplier(op: Op, graph: Graph, real, what: str = "rescale"):
    """QuantizeMultiplier of the real multiplier (or an array of them, one per channel) that
    MultiplyByQuantizedMultiplier applies. One of 2**31 or more needs a left shift above 31,
    which TFLite's int32 ``x * (1 << shift)`` leaves undefined (LiteRT computes garbage):
    refused."""
    many = np.ndim(real) > 0
    multiplier, shift = quantize_multipliers(real) if many else quantize_multiplier(real)
    if np.max(shift) > 31:
        raise scale_error(op, graph, f"its {what} multiplier {np.max(real):.3g} is 2**31 or "
                                     "more, beyond TFLite's int32 fixed-point arithmetic")
    return multiplier, shift


def multiplier_below_one(op: Op, graph: Graph, real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp (quantization_util.cc): LiteRT aborts on a real
    multiplier outside (0, 1) or one that rounds up to 1, so those are refused."""
    multiplier, shift = quantize_multiplier(real)
    if not 0 < real < 1 or shift > 0:
        raise scale_error(op, graph, f"its {what} multiplier {real:.3g} is not below 1, as "
                                     f"LiteRT's {op.type} kernel needs")
    return multiplier, shift


def scale_error(op: Op, graph: Graph, problem: str) -> QuantizationError:
    """The QuantizationError for quantization parameters that LiteRT's kernel for ``op``
    refuses or cannot compute with: the problem, the scales involved, what to do."""
    scales = []
    for name in (*op.inputs, *op.outputs):
        quant = None if name is None else graph.tensors[name].quant
        if quant is not None:
            scale = quant.scale
            scales.append(f"{name!r} {scale[0]:.3g}" if scale.size == 1
                          else f"{name!r} up to {scale.max():.3g}")
    return QuantizationError(
        f"{op.label}: {problem} (scales: {', '.join(scales)}). Requantize with a wider range "
        "for its narrow tensors: a degenerate calibration range (a constant or all-zero "
        "tensor) is the usual cause")


def requantize(acc: np.ndarray, multiplier, shift, zero: int, low: int, high: int,
               dtype) -> np.ndarray:
    """The output stage: ``clamp(MultiplyByQuantizedMultiplier(acc) + zero, low, high)``, in
    one compiled pass where numba's loops run (`edgeport.ops.compiled.requantize`)."""
    if isinstance(acc, np.ndarray):
        out = compiled.requantize(acc, multiplier, shift, zero, low, high, dtype)
        if out is not None:
            return out
    scaled = multiply_by_quantized_multiplier(acc, multiplier, shift) + zero
    return array_namespace(scaled).clip(scaled, low, high).astype(dtype)


def weighted_sum_kernel(definition: OpDef, op: Op, graph: Graph, float_product: bool = False,
                        double_rescale: bool = False):
    """The integer kernel of an op computing ``sum(w * x) + bias`` per output channel (the
    last output axis), e.g. reference_integer_ops::ConvPerChannel, DepthwiseConvPerChannel,
    FullyConnected, TransposeConv, whose inputs and weight axis its `Weighted` rule names:

        acc  = sum over taps of (w - w_zero) * (x - x_zero)   (out-of-image taps skipped)
        acc += bias                                         (int32, scale s_x * s_w[c])
        out  = clamp(MultiplyByQuantizedMultiplier(acc, M[c]) + y_zero, act_min, act_max)

    with ``M[c] = s_x * s_w[c] / s_y``: in double (PopulateConvolutionQuantizationParams) or,
    with ``float_product``, ``s_x * s_w`` multiplied in float32 first
    (GetQuantizedConvolutionMultipler, FULLY_CONNECTED per tensor). Skipping an out-of-image
    tap is padding the centered input with 0, which the float kernel does.

    With ``double_rescale`` the output stage is instead one rounding in double,
    ``round(acc * (double)s_x * s_w[c] / s_y)``: what LiteRT 2.3's BUILTIN_REF int8
    FULLY_CONNECTED computes (measured: the fixed-point stage is one step off on about 0.1% of
    its outputs, the double one never; tests/ops/test_int8_conv.py), ``acc`` wrapped to int32
    as LiteRT's accumulator wraps (a bias clamped to int32 by a tiny input scale overflows it).

    The float kernel is the definition's ``run_float``, or its ``run_jax`` when the jax backend
    traces this kernel. It sums in float64, exact for any sum of these products, or in float32
    (a quarter less time for an int8 MobileNetV2) where that is exact too: where every partial
    sum of an output channel (along the weights' ``axis``) stays below 2**24, which
    ``max |x - x_zero|`` times the L1 norm of the channel's centered weights bounds. The
    kernel's ``sum_dtype`` says which. Traced, the weights are centered on the device from
    their int8 values (a centered copy would be baked into the compiled program).
    """
    rule = definition.quant
    data, weights, bias = rule.data, rule.weights, rule.bias
    x_name, w_name, y_name = op.inputs[data], op.inputs[weights], op.outputs[0]
    x_scale, x_zero = scale_zero(op, graph, x_name)
    y_scale, y_zero = scale_zero(op, graph, y_name)
    w_quant = quant_of(op, graph, w_name)
    if float_product:
        products = (x_scale * w_quant.scale).astype(np.float64)
    else:
        products = np.float64(x_scale) * w_quant.scale.astype(np.float64)
    if double_rescale:
        products = np.float64(x_scale) * w_quant.scale.astype(np.float64)
    rescale = products / np.float64(y_scale)
    multiplier, shift = rescale_multiplier(op, graph, rescale, "output")
    w_zero = w_quant.zero_point
    if w_quant.per_axis:
        view = [1] * len(graph.tensors[w_name].shape)
        view[w_quant.axis] = -1
        w_zero = w_zero.reshape(view)

    w_const = graph.tensors[w_name].data
    sum_dtype = np.float64
    if w_const is not None:
        x_info = np.iinfo(graph.tensors[x_name].dtype)
        x_reach = max(x_zero - x_info.min, x_info.max - x_zero)
        others = tuple(a for a in range(w_const.ndim) if a != rule.axis % w_const.ndim)
        l1 = np.abs(w_const.astype(np.float64) - w_zero).sum(axis=others)
        if x_reach * float(l1.max(initial=0.0)) < 2 ** 24:
            sum_dtype = np.float32
    w_zero = np.asarray(w_zero).astype(sum_dtype)

    def center_weights(w):
        return w.astype(sum_dtype) - w_zero

    w_centered = center_weights(w_const) if w_const is not None else None
    bias_name = op.inputs[bias] if bias < len(op.inputs) else None
    b_const = graph.tensors[bias_name].data if bias_name is not None else None
    low, high = activation_range(op, graph)
    dtype = graph.tensors[y_name].dtype

    def kernel(inputs):
        args = list(inputs)
        numpy = array_namespace(inputs[data]) is np
        args[data] = inputs[data].astype(sum_dtype) - sum_dtype(x_zero)
        args[weights] = (w_centered if numpy and w_centered is not None
                         else center_weights(inputs[weights]))
        if bias_name is not None:
            args[bias] = None
        acc = definition.kernel_for(inputs[data])(op.attrs, *args).astype(np.int64)
        if bias_name is not None:
            acc += (b_const if numpy and b_const is not None else inputs[bias]).astype(np.int64)
        if double_rescale:  # of the int32 accumulator, wrapped as C++ leaves it
            out = round_half_away(wrap_int32(acc) * rescale).astype(np.int64) + y_zero
            return [array_namespace(out).clip(out, low, high).astype(dtype)]
        return [requantize(acc, multiplier, shift, y_zero, low, high, dtype)]

    kernel.sum_dtype = sum_dtype
    return traceable(kernel)


def lookup_kernel(fn: Callable[[np.ndarray], np.ndarray], op: Op, graph: Graph):
    """An elementwise op of one quantized input as a table over every input value: ``fn``
    maps all values of the input dtype (as int64) to output integers, once, at prepare."""
    in_dtype, out_dtype = (graph.tensors[op.inputs[0]].dtype, graph.tensors[op.outputs[0]].dtype)
    info = np.iinfo(in_dtype)
    table = np.asarray(fn(np.arange(info.min, info.max + 1, dtype=np.int64))).astype(out_dtype)

    def kernel(inputs):
        xp = array_namespace(inputs[0])
        return [xp.asarray(table)[inputs[0].astype(np.int64) - info.min]]

    return traceable(kernel)


def float_lookup_kernel(transform: Callable[[np.ndarray], np.ndarray], op: Op, graph: Graph):
    """An 8-bit elementwise op as TFLite's LUTPopulate table (kernels/internal/common.h; the
    int8 LOGISTIC/TANH kernels, BUILTIN_REF included, use it): for every input value, in
    float32, ``clamp((int)(TfLiteRound(transform(s_in * (q - zp_in)) * (1 / s_out)) + zp_out))``.
    """
    (in_scale, in_zero), (out_scale, out_zero) = (scale_zero(op, graph, name)
                                                  for name in (op.inputs[0], op.outputs[0]))
    inverse_scale = np.float32(1) / out_scale
    info = np.iinfo(graph.tensors[op.outputs[0]].dtype)

    def table(q):
        dequantized = in_scale * (q - in_zero).astype(np.float32)
        rescaled = round_half_away(transform(dequantized).astype(np.float32) * inverse_scale)
        return np.clip((rescaled + np.float32(out_zero)).astype(np.int64), info.min, info.max)

    return lookup_kernel(table, op, graph)
