"""Reductions over the axes given by an int32 axis tensor (MEAN, SUM, REDUCE_MAX) and ARG_MAX.

The axis tensor may hold negative and repeated axes; each axis is reduced once. keep_dims keeps
reduced axes as size 1. Results keep the input dtype (float32 stays float32, int32 sums wrap).
"""

from __future__ import annotations

import numpy as np

from .options import Bool, Options, TensorTypeName
from .registry import OpDef, register_op
from .reshape import dtype_version, index_dtype, input_tensor, int_list, normalize_axes, \
    normalize_axis


class _Reducer(OpDef):
    """A ReducerOptions op: ``reduce(x, axes)`` with keep_dims handled here."""

    options = Options("ReducerOptions", keep_dims=Bool)
    versions: dict = {np.int16: 3, np.int8: 2}

    def reduce(self, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def run_float(self, attrs, x, axis):
        axes = normalize_axes(axis, x.ndim)
        out = np.asarray(self.reduce(x, axes)).astype(x.dtype, copy=False)
        return out.reshape(self.reduced_shape(x.shape, axes, attrs.get("keep_dims", False)))

    @staticmethod
    def reduced_shape(shape, axes, keep_dims) -> tuple[int, ...]:
        if keep_dims:
            return tuple(1 if i in axes else n for i, n in enumerate(shape))
        return tuple(n for i, n in enumerate(shape) if i not in axes)

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype, self.versions)


@register_op("MEAN")
class Mean(_Reducer):
    def reduce(self, x, axes):
        # Integer means truncate the quotient toward zero, as C's division does.
        if np.issubdtype(x.dtype, np.integer):
            count = max(int(np.prod([x.shape[a] for a in axes], dtype=np.int64)), 1)
            total = np.sum(x, axis=axes, dtype=np.int64)
            return np.sign(total) * (np.abs(total) // count)
        return np.mean(x, axis=axes, dtype=x.dtype)


@register_op("SUM")
class Sum(_Reducer):
    versions = {np.int8: 2}

    def reduce(self, x, axes):
        return np.sum(x, axis=axes, dtype=x.dtype)


@register_op("REDUCE_MAX")
class ReduceMax(_Reducer):
    def reduce(self, x, axes):
        # An empty reduction gives TFLite's initial value, numeric_limits<T>::lowest()
        # (-FLT_MAX for float, not -inf).
        info = np.finfo if np.issubdtype(x.dtype, np.floating) else np.iinfo
        lowest = info(x.dtype).min
        return np.max(x, axis=axes, initial=lowest)


@register_op("ARG_MAX")
class ArgMax(OpDef):
    options = Options("ArgMaxOptions", output_type=TensorTypeName)

    def run_float(self, attrs, x, axis):
        # Ties resolve to the first index, as TFLite's strict > comparison does.
        dtype = index_dtype(attrs.get("output_type", "INT64"), self.name)
        return np.argmax(x, axis=normalize_axis(int_list(axis)[0], x.ndim)).astype(dtype)

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype, {np.bool_: 3, np.int8: 2})
