"""The rectifiers: RELU, RELU6, RELU_N1_TO_1 (the fused activations' functions as ops),
LEAKY_RELU and PRELU, with their integer kernels, bit-exact with LiteRT's reference kernels
(tensorflow/lite/kernels/activations.cc Prepare/Eval; kernels/internal/reference/
{reference_ops.h ReluX, leaky_relu.h, prelu.h}).

The one-input kernels are tables of one 8-bit value (`quantized.lookup_kernel`). Their Prepare
computes the real multipliers in float32 (``input->params.scale / output->params.scale``
divides two floats before widening to double), which matters for the last bit of
QuantizeMultiplier.
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from ..fixedpoint import multiply_by_quantized_multiplier
from . import compiled
from .activations import relu, relu6, relu_n1_to_1
from .common import fold_channels
from .options import Float, Options
from .quantized import (activation_range, clamp_to_output, in_out_params, lookup_kernel,
                        rescale_multiplier, scale_zero)
from .registry import OpDef, register_op, traceable
from .unary import UnaryOp


class ReluFamily(UnaryOp):
    """RELU, RELU6, RELU_N1_TO_1: the fused activation of the same name, as an op. Quantized
    (ReluPrepare + QuantizedReluX + ReluX): the input rescaled to the output,
    ``zp_out + MultiplyByQuantizedMultiplier(q - zp_in, M, shift)`` with ``M = s_in / s_out``
    (float32 division), clamped to ``zp_out + roundf(lo / s_out)`` and
    ``zp_out + roundf(hi / s_out)`` (RELU: the type's max) within the type's range. RELU and
    RELU6 are version 2 for int8 (op_version.cc); LiteRT registers RELU_N1_TO_1 version 1
    only, for every type."""

    int8_version = 2

    def prepare_integer(self, op, graph):
        (s_in, z_in), (s_out, z_out) = in_out_params(op, graph)
        multiplier, shift = rescale_multiplier(op, graph, float(s_in / s_out))
        low, high = activation_range(op, graph, self.name)

        def table(q):
            return np.clip(z_out + multiply_by_quantized_multiplier(q - z_in, multiplier, shift),
                           low, high)

        return lookup_kernel(table, op, graph)

    def version(self, op, graph):
        return self.int8_version if graph.tensors[op.inputs[0]].dtype == np.int8 else 1


@register_op("RELU")
class Relu(ReluFamily):
    fn = staticmethod(relu)


@register_op("RELU6")
class Relu6(ReluFamily):
    fn = staticmethod(relu6)


@register_op("RELU_N1_TO_1")
class ReluN1To1(ReluFamily):
    fn = staticmethod(relu_n1_to_1)
    int8_version = 1


@register_op("LEAKY_RELU")
class LeakyRelu(UnaryOp):
    options = Options("LeakyReluOptions", alpha=Float)

    def run_float(self, attrs, x):
        # reference_ops::LeakyRelu: ``x > 0 ? x : x * alpha``, not max(x, alpha x), since
        # alpha may exceed 1. NumPy or jax arrays.
        return array_namespace(x).where(x > 0, x, x * x.dtype.type(attrs["alpha"]))

    def prepare_integer(self, op, graph):
        """LeakyReluPrepare + reference_ops::QuantizeLeakyRelu: ``d = q - zp_in`` rescaled by
        ``s_in / s_out`` where d >= 0 and by ``s_in * alpha / s_out`` (float32; alpha may be
        negative or above 1) where d < 0, plus zp_out, clamped to the type."""
        (s_in, z_in), (s_out, z_out) = in_out_params(op, graph)
        alpha = np.float32(op.attrs["alpha"])
        m_alpha, shift_alpha = rescale_multiplier(op, graph, float(s_in * alpha / s_out),
                                                  "alpha")
        m_identity, shift_identity = rescale_multiplier(op, graph, float(s_in / s_out))

        def table(q):
            d = q - z_in
            scaled = np.where(d >= 0,
                              multiply_by_quantized_multiplier(d, m_identity, shift_identity),
                              multiply_by_quantized_multiplier(d, m_alpha, shift_alpha))
            return clamp_to_output(z_out + scaled, op, graph)

        return lookup_kernel(table, op, graph)

    def version(self, op, graph):
        return 2 if graph.tensors[op.inputs[0]].dtype == np.int16 else 1


def prelu_shape(x_shape: tuple, alpha_shape: tuple) -> tuple:
    """PRELU's output shape: x's. TFLite refuses an alpha that would enlarge it."""
    if np.broadcast_shapes(x_shape, alpha_shape) != tuple(x_shape):
        raise ValueError(f"alpha of shape {list(alpha_shape)} does not broadcast to the "
                         f"input's shape {list(x_shape)}")
    return tuple(x_shape)


@register_op("PRELU")
class Prelu(OpDef):
    """PRELU: ``x >= 0 ? x : x * alpha`` (BroadcastPrelu4DSlow), with alpha broadcast against
    x: per channel as (1, 1, C) or (C,), or any shape that broadcasts to x's."""

    def run_float(self, attrs, x, alpha):
        prelu_shape(x.shape, alpha.shape)
        out = compiled.prelu(x, alpha)  # numba's one-pass loop (ops/compiled.py)
        if out is not None:
            return out
        # NumPy: x where x >= 0, else alpha * x, which is max(x, alpha * x) where alpha <= 1
        # and min(x, alpha * x) = -max(-x, -alpha * x) where alpha > 1: with sign = +-1 per
        # alpha, sign * max(sign * x, sign * alpha * x), the same values in four passes (two
        # where every alpha is on one side of 1), alpha spread along whole rows first
        # (ops.common.fold_channels; BENCHMARKS.md). A zero or infinite alpha would give NaN
        # or lose -0's sign there, so those, and a scalar x, take np.where.
        alpha = alpha.astype(x.dtype, copy=False)
        folded = fold_channels(x, alpha)
        rows, weights = (x, alpha) if folded is None else folded[:2]
        if x.ndim == 0 or not (alpha.size and np.all((alpha != 0) & np.isfinite(alpha))):
            out = np.where(rows >= 0, rows, rows * weights)
        elif alpha.max() <= 1 or alpha.min() > 1:
            out = rows * weights
            (np.maximum if alpha.max() <= 1 else np.minimum)(out, rows, out=out)
        else:
            sign = np.where(weights <= 1, weights.dtype.type(1), weights.dtype.type(-1))
            out = rows * (sign * weights)
            np.maximum(out, rows * sign, out=out)
            out *= sign
        return out.reshape(x.shape)

    def run_jax(self, attrs, x, alpha):
        # run_float's NumPy fast paths do not trace; this is their reference expression.
        import jax.numpy as jnp

        prelu_shape(x.shape, alpha.shape)
        return jnp.where(x >= 0, x, x * alpha)

    def shape(self, attrs, x, alpha):
        return [prelu_shape(x.shape, alpha.shape)]

    def prepare_integer(self, op, graph):
        """PreluPrepare + reference_ops::BroadcastPrelu4DSlow / Prelu: with ``d = q - zp_in``,
        ``d * s_in / s_out`` where d >= 0, else ``d * (alpha - zp_alpha) * s_in * s_alpha /
        s_out`` (multipliers in float32), plus zp_out, clamped. Alpha broadcasts against the
        input (per channel: shape (C,) or (1, 1, C)); it is quantized per tensor, as TFLite
        reads only one scale. LiteRT registers PRELU version 1 only, int8 included."""
        (s_in, z_in), (s_out, z_out) = in_out_params(op, graph)
        s_alpha, z_alpha = scale_zero(op, graph, op.inputs[1])
        m_pos, shift_pos = rescale_multiplier(op, graph, float(s_in / s_out))
        m_neg, shift_neg = rescale_multiplier(op, graph, float(s_in * s_alpha / s_out), "alpha")

        def kernel(inputs):
            x, alpha = inputs
            xp = array_namespace(x, alpha)
            d = x.astype(np.int64) - z_in
            a = xp.broadcast_to(alpha.astype(np.int64) - z_alpha, d.shape)
            scaled = xp.where(d >= 0, multiply_by_quantized_multiplier(d, m_pos, shift_pos),
                              multiply_by_quantized_multiplier(d * a, m_neg, shift_neg))
            return [clamp_to_output(z_out + scaled, op, graph).astype(x.dtype)]

        return traceable(kernel)
