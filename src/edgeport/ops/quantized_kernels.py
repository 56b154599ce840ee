"""Integer kernels of RESIZE_BILINEAR, SUM, BATCH_MATMUL, SQUARED_DIFFERENCE,
L2_NORMALIZATION and CONCATENATION (uint8 requantization), bit-exact with LiteRT's reference
kernels. Each function is the op's Prepare (multipliers from the tensors' QuantParams, once)
returning its Eval; the file and function each follows is named in its docstring.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..arrays import array_namespace
from ..fixedpoint import (INT32_MAX, count_leading_zeros32,
                          multiply_by_quantized_multiplier, rounding_divide_by_pot,
                          round_half_away, saturating_left_shift,
                          saturating_rounding_doubling_high_mul, truncating_divide,
                          wrap_int32)
from ..graph import Graph, Op
from .quantized import multiplier_below_one, requantize, rescale_multiplier, scale_zero
from .registry import OpDef, traceable


def _dtype_info(op: Op, graph: Graph):
    return np.iinfo(graph.tensors[op.outputs[0]].dtype)


# -- RESIZE_BILINEAR ----------------------------------------------------------------------------
def _bilinear_10(in_size: int, out_size: int, align_corners: bool, half_pixel: bool):
    """reference_ops::ResizeBilinearInteger's coordinates in 1/1024 steps: the rounded scale
    ``(1024 * in + out / 2) / out`` (``in - 1`` and ``out - 1`` when corners are aligned), the
    source coordinate ``i * scale`` (half-pixel: ``+ scale / 2 - 512``), its neighbours
    ``max(c / 1024, 0)`` and ``min((c + 1023) / 1024, in - 1)`` in C division, and the upper
    neighbour's weight ``c - 1024 * lower`` (negative near a half-pixel border)."""
    if align_corners and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((1 << 10) * in_size + out_size // 2) // out_size
    index = np.arange(out_size, dtype=np.int64)
    coordinate = index * scale + (scale // 2 - (1 << 9) if half_pixel else 0)
    lower = np.maximum(truncating_divide(coordinate, 1 << 10), 0)
    upper = np.minimum(truncating_divide(coordinate + (1 << 10) - 1, 1 << 10), in_size - 1)
    return lower, upper, coordinate - (1 << 10) * lower


def resize_bilinear_kernel(definition: OpDef, op: Op, graph: Graph):
    """RESIZE_BILINEAR on quantized values (resize_bilinear.cc, BUILTIN_REF). int8/int16:
    ResizeBilinearInteger, the four taps weighted in 1/1024 steps and summed in int64
    (``2**20`` per unit), rounded half away from zero by ``(v +- 2**19) / 2**20`` in C
    division, cast to the type without clamping. uint8: the float reference template on the
    raw values (the float kernel, float32), rounded by TfLiteRound. Input and output share
    their quantization parameters. The integer form is traceable; the uint8 one runs on NumPy
    (jax's float resize may round differently)."""
    attrs = op.attrs
    dtype = graph.tensors[op.outputs[0]].dtype
    if dtype == np.uint8:
        def float_resize(inputs):
            x, size = inputs
            return [round_half_away(definition.run_float(attrs, x.astype(np.float32), size))
                    .astype(np.uint8)]

        return float_resize
    align = attrs.get("align_corners", False)
    half_pixel = attrs.get("half_pixel_centers", False)

    def kernel(inputs):
        from .resize import output_size

        x, size = inputs
        height, width = output_size(size)
        y0, y1, wy = _bilinear_10(x.shape[1], height, align, half_pixel)
        x0, x1, wx = _bilinear_10(x.shape[2], width, align, half_pixel)
        wy, wx = wy[None, :, None, None], wx[None, None, :, None]
        top, bottom = x.astype(np.int64)[:, y0], x.astype(np.int64)[:, y1]
        one = 1 << 10
        total = (top[:, :, x0] * (one - wy) * (one - wx) + bottom[:, :, x0] * wy * (one - wx)
                 + top[:, :, x1] * (one - wy) * wx + bottom[:, :, x1] * wy * wx)
        nudge = array_namespace(total).where(total > 0, 1 << 19, -(1 << 19))
        rounded = truncating_divide(total + nudge, 1 << 20)
        return [rounded.astype(dtype)]  # static_cast: wraps, no clamp

    return traceable(kernel)


# -- SUM ------------------------------------------------------------------------------------------
def sum_kernel(reducer, op: Op, graph: Graph):
    """SUM of 8-bit values as LiteRT computes it (reduce.cc EvalSum, QuantizedMeanOrSum with
    compute_sum), whether or not the output shares the input's parameters: the int32 sum of
    the raw values, centered by ``zp_in * n``, times PrepareMeanOrSum's multiplier
    ``s_in / s_out`` (double), plus zp_out, clamped (saturating, never wrapping).

    LiteRT 2.3's BUILTIN_REF SUM reads int8 tensors as uint8 (its results equal this
    arithmetic on the bytes reinterpreted, clamped to [0, 255]): a LiteRT bug, not followed
    here; int8 results equal LiteRT's default kernel but for rare one-step differences (seen
    with an output scale exactly 16 times the input's), uint8 results its reference kernel."""
    (s_in, z_in), (s_out, z_out) = (scale_zero(op, graph, name)
                                    for name in (op.inputs[0], op.outputs[0]))
    multiplier, shift = rescale_multiplier(op, graph, float(s_in) / float(s_out))
    info = _dtype_info(op, graph)
    keep_dims = op.attrs.get("keep_dims", False)

    def kernel(inputs):
        centered, _, shape = centered_sum(reducer, *inputs, z_in, keep_dims)
        out = requantize(centered, multiplier, shift, z_out, info.min, info.max, info.dtype)
        return [out.reshape(shape)]

    return traceable(kernel)


def centered_sum(reducer, x: np.ndarray, axis, zero_point: int, keep_dims: bool):
    """What QuantizedMeanOrSum (reduce.h) starts from, for MEAN and SUM alike: the int32 sum
    of the raw values over ``axis``, centered by ``zero_point * n``; with ``n`` and the output
    shape."""
    from .reshape import normalize_axes

    axes = normalize_axes(axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = array_namespace(x).sum(x, axis=axes, dtype=np.int64)
    centered = wrap_int32(total - zero_point * count)
    return centered, count, reducer.reduced_shape(x.shape, axes, keep_dims)


# -- BATCH_MATMUL ------------------------------------------------------------------------------
def batch_matmul_kernel(definition: OpDef, op: Op, graph: Graph):
    """BATCH_MATMUL int8/int16 (batch_matmul.cc EvalInt8 + reference_ops::BatchMatMul):
    the int32 sums of ``(x - zp_x) * (y - zp_y)`` (computed exactly as a float64 matmul of the
    centered values), times GetQuantizedConvolutionMultipler's ``s_x * s_y`` (float32) /
    ``s_out`` (double), plus zp_out, clamped to the type (no fused activation)."""
    (s_x, z_x), (s_y, z_y), (s_out, z_out) = (scale_zero(op, graph, name)
                                              for name in (*op.inputs[:2], op.outputs[0]))
    multiplier, shift = rescale_multiplier(op, graph, float(s_x * s_y) / float(s_out))
    info = _dtype_info(op, graph)
    attrs = op.attrs

    def kernel(inputs):
        x, y = (v.astype(np.float64) - z for v, z in zip(inputs, (z_x, z_y)))
        acc = definition.kernel_for(x, y)(attrs, x, y).astype(np.int64)
        return [requantize(acc, multiplier, shift, z_out, info.min, info.max, info.dtype)]

    return traceable(kernel)


# -- SQUARED_DIFFERENCE ------------------------------------------------------------------------
def squared_difference_kernel(op: Op, graph: Graph):
    """SQUARED_DIFFERENCE int8 (squared_difference.cc Prepare and SquaredDifference): both
    centered inputs shifted left by 7 and rescaled to ``2 * max(s1, s2)`` (multipliers
    ``s_i / (2 max)``, double), their difference squared, rescaled by
    ``(2 max)**2 / (2**14 * s_out)``, plus zp_out, clamped. Every multiplier must be below 1
    (QuantizeMultiplierSmallerThanOneExp aborts LiteRT otherwise)."""
    (s1, z1), (s2, z2), (s_out, z_out) = (scale_zero(op, graph, name)
                                          for name in (*op.inputs[:2], op.outputs[0]))
    twice_max = 2 * float(max(s1, s2))
    m1, shift1 = multiplier_below_one(op, graph, float(s1) / twice_max, "first input")
    m2, shift2 = multiplier_below_one(op, graph, float(s2) / twice_max, "second input")
    m_out, shift_out = multiplier_below_one(
        op, graph, twice_max * twice_max / ((1 << 14) * float(s_out)), "output")
    info = _dtype_info(op, graph)

    def kernel(inputs):
        a = multiply_by_quantized_multiplier((inputs[0].astype(np.int64) - z1) << 7, m1, shift1)
        b = multiply_by_quantized_multiplier((inputs[1].astype(np.int64) - z2) << 7, m2, shift2)
        diff = a - b
        return [requantize(diff * diff, m_out, shift_out, z_out, info.min, info.max,
                           info.dtype)]

    return traceable(kernel)


# -- L2_NORMALIZATION ------------------------------------------------------------------------
def inv_sqrt_multiplier(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GetInvSqrtQuantizedMultiplierExp (common.h) with reverse_shift -1, elementwise:
    1 / sqrt(x) as a Q31 multiplier and a (right-shift-negated) exponent, by five
    Newton-Raphson steps in FixedPoint<3> on x normalized to [2**27, 2**29); x <= 1 gives
    (INT32_MAX, 0)."""
    mul = saturating_rounding_doubling_high_mul
    x = np.asarray(x, np.int64)
    small = x <= 1
    x = np.where(small, 2, x)
    shift = np.full(x.shape, 11, np.int64)
    while np.any(x >= 1 << 29):
        big = x >= 1 << 29
        x = np.where(big, x // 4, x)
        shift += big
    pairs = (count_leading_zeros32(x) - 1) // 2 - 1
    shift -= pairs
    x = x << (2 * pairs)
    half_input = rounding_divide_by_pot(x >> 1, 1)
    half_three = (1 << 28) + (1 << 27)
    root = np.full(x.shape, 1 << 28, np.int64)  # F3 one
    for _ in range(5):
        cube = saturating_left_shift(mul(mul(root, root), root), 6)  # F9 -> F3
        root = saturating_left_shift(mul(half_three, root) - mul(half_input, cube), 3)  # F6->F3
    root = mul(root, 1518500250)  # * sqrt(2) / 2
    negative = shift < 0
    root = np.where(negative, wrap_int32(root << np.where(negative, -shift, 0)), root)
    shift = np.where(negative, 0, shift)
    return np.where(small, INT32_MAX, root), np.where(small, 0, -shift)


def l2_normalization_kernel(op: Op, graph: Graph):
    """L2_NORMALIZATION on 8-bit values (l2norm.cc; output scale 1/128, zero point 0 for int8,
    128 for uint8): per row the int32 sum of squared centered inputs, its inverse square root
    (`inv_sqrt_multiplier`), then int8 (reference_integer_ops::L2Normalization)
    ``MultiplyByQuantizedMultiplier(d, inv, shift + 7)`` clamped, or uint8
    (reference_ops::L2Normalization) ``128 + MultiplyByQuantizedMultiplier(128 d, inv,
    shift)`` clamped."""
    _, z_in = scale_zero(op, graph, op.inputs[0])
    info = _dtype_info(op, graph)
    unsigned = info.min == 0

    def kernel(inputs):
        d = inputs[0].astype(np.int64) - z_in
        inv, shift = inv_sqrt_multiplier(wrap_int32((d * d).sum(axis=-1, keepdims=True)))
        if unsigned:
            out = 128 + multiply_by_quantized_multiplier(128 * d, inv, shift)
        else:
            out = multiply_by_quantized_multiplier(d, inv, shift + 7)
        return [np.clip(out, info.min, info.max).astype(info.dtype)]

    return kernel


# -- CONCATENATION ------------------------------------------------------------------------------
def concatenation_kernel(definition: OpDef, op: Op, graph: Graph):
    """CONCATENATION of quantized inputs (concatenation.cc). int8/int16 inputs must share the
    output's parameters (Prepare refuses others) and are concatenated as they are. uint8 runs
    reference_ops::ConcatenationWithScaling: an input with other parameters is requantized in
    float32, ``round(q * scale + bias) + zp_out`` clamped to [0, 255], with
    ``scale = s_in * (1 / s_out)`` and ``bias = -zp_in * scale``: a function of one uint8
    value, tabulated once (traced, XLA would fuse the product and the sum into one rounding)."""
    out_params = scale_zero(op, graph, op.outputs[0])
    in_params = [scale_zero(op, graph, name) for name in op.inputs]
    attrs = op.attrs
    dtype = graph.tensors[op.outputs[0]].dtype
    differ = [params != out_params for params in in_params]
    if any(differ) and dtype != np.uint8:
        raise UnsupportedOpError(f"{op.label}: quantized {np.dtype(dtype).name} CONCATENATION "
                                 "needs every input on the output's scale and zero point")
    inverse_scale = np.float32(1) / out_params[0]

    def requantized(params) -> np.ndarray:
        """The output value of every uint8 input value."""
        scale = params[0] * inverse_scale
        bias = np.float32(-params[1]) * scale
        q = np.arange(256, dtype=np.float32)
        value = round_half_away(q * scale + bias) + np.float32(out_params[1])
        return np.clip(value, 0, 255).astype(np.uint8)

    tables = [requantized(params) if change else None
              for params, change in zip(in_params, differ)]

    def kernel(inputs):
        values = [x if table is None else array_namespace(x).asarray(table)[x.astype(np.int32)]
                  for x, table in zip(inputs, tables)]
        return [definition.kernel_for(*values)(attrs, *values)]

    return traceable(kernel)
