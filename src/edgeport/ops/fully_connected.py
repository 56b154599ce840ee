"""Matrix products: FULLY_CONNECTED (weights [out, in]) and BATCH_MATMUL (broadcast batches)."""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..arrays import array_namespace
from .activations import FUSABLE
from .options import Activation, Bool, Enum, Options, TensorTypeName
from .quant_rules import Weighted
from .quantized import (output_info, requantize, rescale_multiplier, scale_error, scale_zero,
                        weighted_sum_kernel)
from .registry import OpDef, register_op, traceable
from .versioning import all_of, dtype_of, is_hybrid, per_channel


@register_op("FULLY_CONNECTED")
class FullyConnected(OpDef):
    """``input @ weights.T + bias`` over the input flattened to [-1, in]; the output is
    [batch, out], or keeps the input's leading dims with keep_num_dims."""

    options = Options("FullyConnectedOptions", fused_activation_function=Activation,
                      weights_format=Enum("FullyConnectedOptionsWeightsFormat"),
                      keep_num_dims=Bool, asymmetric_quantize_inputs=Bool,
                      quantized_bias_type=TensorTypeName)
    quant = Weighted(weights=1, bias=2, axis=0)
    fusable_activations = FUSABLE

    def shape(self, attrs, x, w, b=None):
        return [_fc_shape(attrs, x.shape, w.shape)]

    def run_float(self, attrs, x, w, b=None):
        if attrs.get("weights_format", "DEFAULT") != "DEFAULT":
            # SHUFFLED4x16INT8 is a uint8-only layout of TFLite's optimized kernel.
            raise UnsupportedOpError(f"FULLY_CONNECTED: weights_format "
                                     f"{attrs['weights_format']} has no float kernel")
        out_shape = _fc_shape(attrs, x.shape, w.shape)
        # w.T is a transposed view: BLAS reads it as is, so there is nothing to precompute.
        # Traced by jax as it is, with "highest" matmul precision (GPUs do not round to TF32).
        out = x.reshape(-1, w.shape[1]) @ w.T
        if b is not None:
            out += b
        return out.reshape(out_shape)

    def macs_per_output(self, op, shapes):
        return shapes[op.inputs[1]][-1] if op.inputs[1] in shapes else 1

    def prepare_integer(self, op, graph):
        # reference_integer_ops::FullyConnected (per tensor: GetQuantizedConvolutionMultipler
        # multiplies s_in * s_w in float32) or FullyConnectedPerChannel (double, per channel);
        # int8 as LiteRT's BUILTIN_REF actually rounds it: once, in double.
        per_tensor = not per_channel(graph, op.inputs[1])
        if per_tensor:
            _check_bias_scale(op, graph)
        int8 = graph.tensors[op.outputs[0]].dtype == np.int8
        return weighted_sum_kernel(self, op, graph, float_product=per_tensor,
                                   double_rescale=int8)

    def version(self, op, graph):
        weights = op.inputs[1]
        if is_hybrid(op, graph) and per_channel(graph, weights):
            return 12
        if graph.tensors[weights].sparsity is not None:
            return 8
        if all_of(op, graph, np.int16):
            return 7
        if len(op.inputs) == 2:  # no bias slot at all; an absent (-1) bias still counts as 3
            return 6
        if op.attrs.get("keep_num_dims", False):
            return 5
        if all_of(op, graph, np.int8):
            return 4
        if is_hybrid(op, graph):
            return 9 if op.attrs.get("asymmetric_quantize_inputs", False) else 3
        if op.attrs.get("weights_format", "DEFAULT") != "DEFAULT":
            return 2
        return 1


def _check_bias_scale(op, graph) -> None:
    """GetQuantizedConvolutionMultipler's check (kernel_util.cc), which LiteRT's per-tensor
    FULLY_CONNECTED Prepare makes: the bias scale is ``s_in * s_w`` (double) to within 2% of
    the output scale. A bias stored at the float32 product misses it only where
    ``s_in * s_w / s_out`` is huge (about 3e5 or more)."""
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    if bias is None:
        return
    s_in, s_w, s_out = (float(scale_zero(op, graph, name)[0])
                        for name in (op.inputs[0], op.inputs[1], op.outputs[0]))
    quant = graph.tensors[bias].quant
    s_bias = float(quant.scale[0]) if quant is not None else 0.0  # LiteRT reads 0 then
    if not abs(s_in * s_w - s_bias) / s_out <= 0.02:
        raise scale_error(op, graph, f"its bias scale {s_bias:.3g} differs from input scale * "
                                     f"weight scale by more than 2% of the output scale, "
                                     "which LiteRT's Prepare refuses")


def _fc_shape(attrs, x_shape, w_shape) -> tuple[int, ...]:
    n_out, n_in = w_shape
    size = int(np.prod(x_shape))
    if size % n_in or (attrs.get("keep_num_dims", False) and x_shape[-1] != n_in):
        raise ValueError(f"FULLY_CONNECTED: input of shape {list(x_shape)} does not flatten "
                         f"to rows of the weights' {n_in} inputs")
    if attrs.get("keep_num_dims", False):
        return (*x_shape[:-1], n_out)
    return (size // n_in, n_out)


@register_op("BATCH_MATMUL")
class BatchMatMul(OpDef):
    """``x @ y`` over the last two dims (each transposed first when adj_x / adj_y is set);
    the leading batch dims broadcast as in NumPy."""

    options = Options("BatchMatMulOptions", adj_x=Bool, adj_y=Bool,
                      asymmetric_quantize_inputs=Bool)

    def shape(self, attrs, x, y):
        m, k = _matrix_dims(x.shape, attrs.get("adj_x", False))
        k2, n = _matrix_dims(y.shape, attrs.get("adj_y", False))
        if k != k2:
            raise ValueError(f"BATCH_MATMUL: inner dims {k} and {k2} differ")
        return [(*np.broadcast_shapes(x.shape[:-2], y.shape[:-2]), m, n)]

    def run_float(self, attrs, x, y):
        xp = array_namespace(x, y)
        if attrs.get("adj_x", False):
            x = xp.swapaxes(x, -1, -2)
        if attrs.get("adj_y", False):
            y = xp.swapaxes(y, -1, -2)
        return xp.matmul(x, y)

    def macs_per_output(self, op, shapes):
        return shapes[op.inputs[1]][-1] if op.inputs[1] in shapes else 1

    def prepare_integer(self, op, graph):
        """BATCH_MATMUL int8/int16 (batch_matmul.cc EvalInt8 + reference_ops::BatchMatMul):
        the int32 sums of ``(x - zp_x) * (y - zp_y)`` (computed exactly as a float64 matmul of
        the centered values), times GetQuantizedConvolutionMultipler's ``s_x * s_y``
        (float32) / ``s_out`` (double), plus zp_out, clamped to the type (no fused
        activation)."""
        (s_x, z_x), (s_y, z_y), (s_out, z_out) = (scale_zero(op, graph, name)
                                                  for name in (*op.inputs[:2], op.outputs[0]))
        multiplier, shift = rescale_multiplier(op, graph, float(s_x * s_y) / float(s_out))
        info = output_info(op, graph)
        attrs = op.attrs

        def kernel(inputs):
            x, y = (v.astype(np.float64) - z for v, z in zip(inputs, (z_x, z_y)))
            acc = self.kernel_for(x, y)(attrs, x, y).astype(np.int64)
            return [requantize(acc, multiplier, shift, z_out, info.min, info.max, info.dtype)]

        return traceable(kernel)

    def version(self, op, graph):
        if dtype_of(graph, op.inputs[0]) == np.int16:
            return 3
        if dtype_of(graph, op.inputs[0]) == np.int8:
            return 2
        if is_hybrid(op, graph) and op.attrs.get("asymmetric_quantize_inputs", False):
            return 4
        return 1


def _matrix_dims(shape, adjoint: bool) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError("BATCH_MATMUL needs inputs of rank 2 or more")
    return (shape[-1], shape[-2]) if adjoint else (shape[-2], shape[-1])
