"""Data-movement ops that split and join tensors: SPLIT, SPLIT_V, PACK, UNPACK and
CONCATENATION (slicing.py selects parts of them). They work on any dtype (float, int, bool);
quantized CONCATENATION requantizes uint8 inputs onto the output's parameters.
"""

from __future__ import annotations

import numpy as np

from ..arrays import array_namespace
from ..errors import UnsupportedOpError
from ..fixedpoint import round_half_away
from .options import Activation, Int, Options
from .quant_rules import SameAsInput, Shared
from .quantized import scale_zero
from .registry import OpDef, register_op, traceable
from .reshape import dtype_version, input_tensor, int_list, normalize_axis


@register_op("SPLIT")
class Split(OpDef):
    static_inputs = (0,)
    quant = SameAsInput()
    options = Options("SplitOptions", num_splits=Int)

    def run_float(self, attrs, axis, x):
        return tuple(array_namespace(x).split(x, attrs["num_splits"],
                                              normalize_axis(int_list(axis)[0], x.ndim)))

    def version(self, op, graph):
        # The data is input 1 (input 0 is the axis).
        return dtype_version(input_tensor(op, graph, 1).dtype,
                             {np.int16: 4, np.int32: 3, np.int8: 2})


@register_op("SPLIT_V")
class SplitV(OpDef):
    static_inputs = (1, 2)
    quant = SameAsInput()
    options = Options("SplitVOptions", num_splits=Int)

    def run_float(self, attrs, x, size_splits, axis):
        axis = normalize_axis(int_list(axis)[0], x.ndim)
        sizes = int_list(size_splits)
        if -1 in sizes:  # one size may be -1: whatever the others leave
            sizes[sizes.index(-1)] = x.shape[axis] - (sum(sizes) + 1)
        return tuple(array_namespace(x).split(x, np.cumsum(sizes)[:-1].tolist(), axis))

    def shape(self, attrs, x, size_splits, axis):
        if size_splits.value is not None and axis.value is not None:
            return None
        # Runtime sizes or axis: a placeholder guess of equal parts along the known axis.
        n = attrs["num_splits"]
        a = normalize_axis(int_list(axis.value)[0], len(x.shape)) if axis.value is not None else 0
        parts = np.diff(np.linspace(0, x.shape[a], n + 1).astype(int))
        return [x.shape[:a] + (int(p),) + x.shape[a + 1:] for p in parts]

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype, {np.int8: 2})


@register_op("PACK")
class Pack(OpDef):
    quant = Shared()
    options = Options("PackOptions", values_count=Int, axis=Int)

    def run_float(self, attrs, *values):
        xp = array_namespace(*values)
        return xp.stack(values, normalize_axis(attrs.get("axis", 0), values[0].ndim + 1))

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype,
                             {np.int8: 2, np.int16: 3, np.uint32: 4})


@register_op("UNPACK")
class Unpack(OpDef):
    quant = SameAsInput()
    options = Options("UnpackOptions", num=Int, axis=Int)

    def run_float(self, attrs, x):
        axis = normalize_axis(attrs.get("axis", 0), x.ndim)
        if attrs.get("num", x.shape[axis]) != x.shape[axis]:  # unpack.cc Prepare's check
            raise ValueError(f"UNPACK: num is {attrs['num']}, axis {axis} of the input has "
                             f"{x.shape[axis]} elements")
        return tuple(array_namespace(x).moveaxis(x, axis, 0))

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype,
                             {np.int8: 2, np.uint8: 2, np.bool_: 3, np.int16: 4})


@register_op("CONCATENATION")
class Concatenation(OpDef):
    quant = Shared()
    options = Options("ConcatenationOptions", axis=Int, fused_activation_function=Activation)

    def run_float(self, attrs, *values):
        return array_namespace(*values).concatenate(
            values, normalize_axis(attrs.get("axis", 0), values[0].ndim))

    def prepare_integer(self, op, graph):
        """CONCATENATION of quantized inputs (concatenation.cc). int8/int16 inputs must share
        the output's parameters (Prepare refuses others) and are concatenated as they are.
        uint8 runs reference_ops::ConcatenationWithScaling: an input with other parameters is
        requantized in float32, ``round(q * scale + bias) + zp_out`` clamped to [0, 255], with
        ``scale = s_in * (1 / s_out)`` and ``bias = -zp_in * scale``: a function of one uint8
        value, tabulated once (traced, XLA would fuse the product and the sum into one
        rounding)."""
        out_params = scale_zero(op, graph, op.outputs[0])
        in_params = [scale_zero(op, graph, name) for name in op.inputs]
        attrs = op.attrs
        dtype = graph.tensors[op.outputs[0]].dtype
        differ = [params != out_params for params in in_params]
        if any(differ) and dtype != np.uint8:
            raise UnsupportedOpError(f"{op.label}: quantized {np.dtype(dtype).name} "
                                     "CONCATENATION needs every input on the output's scale "
                                     "and zero point")
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
            return [self.kernel_for(*values)(attrs, *values)]

        return traceable(kernel)

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype,
                             {np.uint32: 4, np.int16: 3, np.int8: 2})
