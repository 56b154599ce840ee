"""Reductions over the axes given by an int32 axis tensor (MEAN, SUM, REDUCE_MAX) and ARG_MAX.

The axis tensor may hold negative and repeated axes; each axis is reduced once. keep_dims keeps
reduced axes as size 1. Results keep the input dtype (float32 stays float32, int32 sums wrap).
"""

from __future__ import annotations

import math

import numpy as np

from ..arrays import array_namespace
from ..fixedpoint import (multiply_by_quantized_multiplier, quantize_multiplier,
                          truncating_divide, wrap_int32)
from .options import Bool, Options, TensorTypeName
from .quant_rules import Calibrated, SameAsInput
from .quantized import (in_out_params, output_info, requantize, rescale_multiplier,
                        scale_error)
from .registry import OpDef, register_op, traceable
from .reshape import dtype_version, index_dtype, input_tensor, int_list, normalize_axes, \
    normalize_axis


def reduce_axes(ufunc: np.ufunc, x: np.ndarray, axes, **options) -> np.ndarray:
    """``ufunc.reduce`` over ``axes`` in TFLite's reference order: one sequential chain per
    output through the reduced elements in row-major order, so float sums round as LiteRT's
    do (a sum over H and W that is more accurate than that chain lands further from LiteRT on
    mediapipe's squeeze-excite models). The reduced axes are moved to the front (one copy) so
    that each step of the chain combines a whole contiguous row of outputs: 2x faster than
    NumPy's own reduction over several axes. A reduction to a single value (nothing kept but
    size-1 axes) is NumPy's pairwise sum instead, as np.sum's. ``options`` (dtype, initial)
    go to the reduce."""
    if not axes:
        return ufunc.reduce(x, axis=(), **options)  # a copy (with ``initial`` applied)
    reduced = sorted(axes)
    kept = [a for a in range(x.ndim) if a not in reduced]
    chains = np.ascontiguousarray(x.transpose(*reduced, *kept))
    count = math.prod(x.shape[a] for a in reduced)
    return ufunc.reduce(chains.reshape(count, *(x.shape[a] for a in kept)), axis=0, **options)


class _Reducer(OpDef):
    """A ReducerOptions op: ``reduce(x, axes)`` with keep_dims handled here."""
    static_inputs = (1,)

    options = Options("ReducerOptions", keep_dims=Bool)
    versions: dict = {np.int16: 3, np.int8: 2}

    def reduce(self, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def run_float(self, attrs, x, axis):
        axes = normalize_axes(axis, x.ndim)
        out = np.asarray(self.reduce(x, axes)).astype(x.dtype, copy=False)
        return out.reshape(self.reduced_shape(x.shape, axes, attrs.get("keep_dims", False)))

    def run_jax(self, attrs, x, axis):
        """jax.numpy's reduction (``jax_reduction``): `reduce_axes`'s TFLite order is a NumPy
        fast path that does not trace, so a float sum may round differently here."""
        import jax.numpy as jnp

        axes = normalize_axes(axis, x.ndim)
        out = getattr(jnp, self.jax_reduction)(x, axis=axes, **self.reduce_options(x))
        return out.astype(x.dtype).reshape(
            self.reduced_shape(x.shape, axes, attrs.get("keep_dims", False)))

    jax_reduction: str  # the jax.numpy reduction

    def reduce_options(self, x) -> dict:
        """Keyword arguments of ``reduce``'s reduction (and of jax's)."""
        return {}

    @staticmethod
    def reduced_shape(shape, axes, keep_dims) -> tuple[int, ...]:
        if keep_dims:
            return tuple(1 if i in axes else n for i, n in enumerate(shape))
        return tuple(n for i, n in enumerate(shape) if i not in axes)

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype, self.versions)


def centered_sum(reducer: _Reducer, x: np.ndarray, axis, zero_point: int, keep_dims: bool):
    """What QuantizedMeanOrSum (reduce.h) starts from, for MEAN and SUM alike: the int32 sum
    of the raw values over ``axis``, centered by ``zero_point * n``; with ``n`` and the output
    shape."""
    axes = normalize_axes(axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    total = array_namespace(x).sum(x, axis=axes, dtype=np.int64)
    centered = wrap_int32(total - zero_point * count)
    return centered, count, reducer.reduced_shape(x.shape, axes, keep_dims)


@register_op("MEAN")
class Mean(_Reducer):
    int64_accumulator = True

    def reduce(self, x, axes):
        count = math.prod(x.shape[a] for a in axes)
        # Integer means truncate the quotient toward zero, as C's division does.
        if np.issubdtype(x.dtype, np.integer):
            return truncating_divide(np.sum(x, axis=axes, dtype=np.int64), max(count, 1))
        with np.errstate(invalid="ignore"):  # the mean of nothing is NaN, as np.mean's
            return reduce_axes(np.add, x, axes, dtype=x.dtype) / x.dtype.type(count)

    def prepare_integer(self, op, graph):
        """MEAN as reference_ops::QuantizedMeanOrSum (reduce.h) with PrepareMeanOrSum's
        multiplier s_in / s_out (double): the int32 sum of the raw inputs, centered by
        zp_in * n, times the multiplier with 1/n folded in (k = min(floor(log2 n), 32,
        31 + shift), multiplier = (multiplier << k) / n, shift -= k), plus zp_out, clamped. A
        shift still above 31 is past TFLite's int32 arithmetic (its results are garbage):
        refused."""
        (in_scale, in_zero), (out_scale, out_zero) = in_out_params(op, graph)
        base_multiplier, base_shift = quantize_multiplier(float(in_scale) / float(out_scale))
        info = output_info(op, graph)
        keep_dims = op.attrs.get("keep_dims", False)

        def kernel(inputs):
            centered, count, shape = centered_sum(self, *inputs, in_zero, keep_dims)
            if count == 0:
                return [np.zeros(shape, info.dtype)]
            k = min(count.bit_length() - 1, 32, 31 + base_shift)
            multiplier, shift = (base_multiplier << k) // count, base_shift - k
            if shift > 31:
                raise scale_error(op, graph, f"its rescale by 2**{shift} (over {count} "
                                             "values) is beyond TFLite's int32 fixed-point "
                                             "arithmetic")
            out = multiply_by_quantized_multiplier(centered, multiplier, shift) + out_zero
            xp = array_namespace(out)
            return [xp.clip(out, info.min, info.max).astype(info.dtype).reshape(shape)]

        return traceable(kernel)

    def run_jax(self, attrs, x, axis):
        """jax.numpy's mean, as `_Reducer.run_jax`; integers as `reduce` divides them."""
        import jax.numpy as jnp

        axes, keep_dims = normalize_axes(axis, x.ndim), attrs.get("keep_dims", False)
        if not np.issubdtype(x.dtype, np.integer):
            return jnp.mean(x, axis=axes, keepdims=keep_dims)
        # As `reduce`: the quotient truncated toward zero, in the input's dtype.
        total = jnp.sum(x, axis=axes, keepdims=keep_dims, dtype=np.int64)
        count = max(math.prod(x.shape[a] for a in axes), 1)
        return truncating_divide(total, count).astype(x.dtype)


@register_op("SUM")
class Sum(_Reducer):
    versions = {np.int8: 2}

    jax_reduction = "sum"

    def reduce(self, x, axes):
        return reduce_axes(np.add, x, axes, **self.reduce_options(x))

    def reduce_options(self, x):
        return {"dtype": x.dtype}

    def prepare_integer(self, op, graph):
        """SUM of 8-bit values as LiteRT computes it (reduce.cc EvalSum, QuantizedMeanOrSum
        with compute_sum), whether or not the output shares the input's parameters: the int32
        sum of the raw values, centered by ``zp_in * n``, times PrepareMeanOrSum's multiplier
        ``s_in / s_out`` (double), plus zp_out, clamped (saturating, never wrapping).

        LiteRT 2.3's BUILTIN_REF SUM reads int8 tensors as uint8 (its results equal this
        arithmetic on the bytes reinterpreted, clamped to [0, 255]): a LiteRT bug, not
        followed here; int8 results equal LiteRT's default kernel but for rare one-step
        differences (seen with an output scale exactly 16 times the input's), uint8 results
        its reference kernel."""
        (s_in, z_in), (s_out, z_out) = in_out_params(op, graph)
        multiplier, shift = rescale_multiplier(op, graph, float(s_in) / float(s_out))
        info = output_info(op, graph)
        keep_dims = op.attrs.get("keep_dims", False)

        def kernel(inputs):
            centered, _, shape = centered_sum(self, *inputs, z_in, keep_dims)
            out = requantize(centered, multiplier, shift, z_out, info.min, info.max,
                             info.dtype)
            return [out.reshape(shape)]

        return traceable(kernel)


@register_op("REDUCE_MAX")
class ReduceMax(_Reducer):
    quant = SameAsInput()
    jax_reduction = "max"

    def reduce(self, x, axes):
        return reduce_axes(np.maximum, x, axes, **self.reduce_options(x))

    def reduce_options(self, x):
        # An empty reduction gives TFLite's initial value, numeric_limits<T>::lowest()
        # (-FLT_MAX for float, not -inf).
        info = np.finfo if np.issubdtype(x.dtype, np.floating) else np.iinfo
        return {"initial": info(x.dtype).min}


@register_op("ARG_MAX")
class ArgMax(OpDef):
    static_inputs = (1,)
    quant = Calibrated(moves_data=True)  # its output is an index
    options = Options("ArgMaxOptions", output_type=TensorTypeName)

    def run_float(self, attrs, x, axis):
        # Ties resolve to the first index, as TFLite's strict > comparison does.
        dtype = index_dtype(attrs.get("output_type", "INT64"), self.name)
        axis = normalize_axis(int_list(axis)[0], x.ndim)
        return array_namespace(x).argmax(x, axis=axis).astype(dtype)

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype, {np.bool_: 3, np.int8: 2})
