"""Data-movement ops that select parts of tensors: STRIDED_SLICE, SLICE and GATHER (joining.py
splits and joins them). They work on any dtype (float, int, bool)."""

from __future__ import annotations

import numpy as np

from .options import Bool, Int, Options
from .quant_rules import SameAsInput
from .registry import OpDef, register_op
from .reshape import dtype_version, input_tensor, int_list, normalize_axis


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(v, hi))


def _bit(mask: int, i: int) -> bool:
    return bool(mask >> i & 1)


def strided_slice_plan(attrs, in_shape, begin, end, strides):
    """TFLite's STRIDED_SLICE (strided_slice.cc BuildStridedSliceParams + strided_slice_logic.h):
    the effective input shape (new axes inserted as 1s, the ellipsis expanded), one index range
    per effective axis, and which axes the output drops (shrink_axis_mask)."""
    ellipsis, new_axis = attrs.get("ellipsis_mask", 0), attrs.get("new_axis_mask", 0)
    rank, count = len(in_shape), len(begin)
    # new_axis bits under an ellipsis bit have no effect.
    added = sum(1 for i in range(count) if _bit(new_axis, i) and not _bit(ellipsis, i))
    dims = rank + added
    # Expand the ellipsis over the axes that begin/end/strides do not cover; then each
    # effective axis is an ellipsis axis, a new axis, an axis past the spec, or a spec entry j.
    kinds, i, expanded = [], 0, 0
    while i < dims:
        if _bit(ellipsis, i):
            stop = max(i + 1, min(i + 1 + added + rank - count, dims))
            expanded = stop - i - 1
            kinds += [("whole", None)] * (stop - i)
            i = stop
            continue
        j = i - expanded
        kinds.append(("new" if _bit(new_axis, j) else "whole" if j >= count else "spec", j))
        i += 1
    eff_shape, ranges, shrink, pos = [], [], [], 0
    for kind, j in kinds:
        if kind == "new":  # a new axis is an input axis of size 1, taken whole
            eff_shape.append(1)
            ranges.append(np.arange(1))
            shrink.append(False)
            continue
        size = in_shape[pos]
        pos += 1
        eff_shape.append(size)
        if kind == "whole":
            ranges.append(np.arange(size))
            shrink.append(False)
        else:
            ranges.append(_axis_range(attrs, j, size, int(begin[j]), int(end[j]), int(strides[j])))
            shrink.append(_bit(attrs.get("shrink_axis_mask", 0), j))
    return tuple(eff_shape), ranges, shrink


def _axis_range(attrs, j, size, start, stop, stride) -> np.ndarray:
    """The indices one axis of the spec takes (StridedSliceStartForAxis/EndForAxis, then the
    reference kernel's loop): negative indices count from the end, then clamp to [0, size]
    going forward or [-1, size - 1] going backward; begin_mask/end_mask take the whole axis in
    the stride's direction; with ``offset`` the end is relative to the start; a shrunk axis
    takes the one element at the start (none when the start is past the end). With a negative
    stride TFLite's loop takes nothing for a shrunk axis and leaves its output unwritten; we
    take the element at the start, as TensorFlow does."""
    if stride == 0:
        raise ValueError("stride value has to be non-zero")
    lo, hi = (0, size) if stride > 0 else (-1, size - 1)
    start = _clamp(start + size if start < 0 else start, lo, hi)
    if _bit(attrs.get("begin_mask", 0), j):
        start = 0 if stride > 0 else size - 1
    if _bit(attrs.get("shrink_axis_mask", 0), j):
        return np.arange(start, min(start + 1, size))
    if attrs.get("offset", False):
        stop += start
    stop = _clamp(stop + size if stop < 0 else stop, lo, hi)
    if _bit(attrs.get("end_mask", 0), j):
        stop = size if stride > 0 else -1
    return np.arange(start, stop, stride)


@register_op("STRIDED_SLICE")
class StridedSlice(OpDef):
    static_inputs = (1, 2, 3)
    quant = SameAsInput()
    options = Options("StridedSliceOptions", begin_mask=Int, end_mask=Int, ellipsis_mask=Int,
                      new_axis_mask=Int, shrink_axis_mask=Int, offset=Bool)

    def run_float(self, attrs, x, begin, end, strides):
        eff_shape, ranges, shrink = strided_slice_plan(attrs, x.shape, begin, end, strides)
        out = x.reshape(eff_shape)[np.ix_(*ranges)]
        return out.reshape([n for n, s in zip(out.shape, shrink) if not s])

    def shape(self, attrs, x, begin, end, strides):
        if all(s.value is not None for s in (begin, end, strides)):
            return None
        # Runtime indices: a placeholder guess taking every axis whole.
        n = begin.shape[0]
        full = {**attrs, "begin_mask": (1 << n) - 1, "end_mask": (1 << n) - 1, "offset": False}
        ones = np.ones(n, np.int32)
        _, ranges, shrink = strided_slice_plan(full, x.shape, ones, ones, ones)
        return [tuple(len(r) for r, s in zip(ranges, shrink) if not s)]

    def version(self, op, graph):
        attrs, x = op.attrs, input_tensor(op, graph)
        if attrs.get("offset", False):
            return 8
        if x.dtype == np.uint32:
            return 7
        if attrs.get("ellipsis_mask", 0) or attrs.get("new_axis_mask", 0):
            return 6
        if len(x.shape) > 4:
            return 4
        return dtype_version(x.dtype, {np.bool_: 3, np.int8: 2})


@register_op("SLICE")
class Slice(OpDef):
    static_inputs = (1, 2)
    quant = SameAsInput()
    options = Options("SliceOptions")

    def run_float(self, attrs, x, begin, size):
        # A size of -1 takes everything from begin to the end of the axis.
        index = tuple(slice(b, None if s == -1 else b + s)
                      for b, s in zip(int_list(begin), int_list(size)))
        return x[index]

    def shape(self, attrs, x, begin, size):
        if begin.value is not None and size.value is not None:
            return None
        # Runtime begin or size: a placeholder guess of the known sizes, else whole axes.
        sizes = int_list(size.value) if size.value is not None else [-1] * len(x.shape)
        return [tuple(n if s == -1 else s for n, s in zip(x.shape, sizes))]

    def version(self, op, graph):
        x = input_tensor(op, graph)
        if x.dtype == np.uint32:
            return 6
        if len(x.shape) > 4:
            return 5
        return dtype_version(x.dtype, {np.int16: 4, np.int8: 2})


@register_op("GATHER")
class Gather(OpDef):
    quant = SameAsInput()
    options = Options("GatherOptions", axis=Int, batch_dims=Int)

    def run_float(self, attrs, params, indices):
        """out[b.., o.., i.., n..] = params[b.., o.., indices[b.., i..], n..] where the first
        batch_dims axes of params and indices are shared (negative values count from the
        end, batch_dims from the end of indices). Traced, a compiled gather cannot raise, so
        jax clamps an index out of range where NumPy refuses it."""
        batch = attrs.get("batch_dims", 0)
        batch = batch + indices.ndim if batch < 0 else batch
        axis = normalize_axis(attrs.get("axis", 0), params.ndim)
        n_batch = int(np.prod(params.shape[:batch], dtype=np.int64))
        p = params.reshape(n_batch, int(np.prod(params.shape[batch:axis], dtype=np.int64)),
                           params.shape[axis], int(np.prod(params.shape[axis + 1:], dtype=np.int64)))
        idx = indices.reshape(n_batch, -1)
        out = p[np.arange(n_batch)[:, None, None], np.arange(p.shape[1])[None, :, None],
                idx[:, None, :]]
        return out.reshape(params.shape[:axis] + indices.shape[batch:] + params.shape[axis + 1:])

    def version(self, op, graph):
        params, indices = input_tensor(op, graph, 0), input_tensor(op, graph, 1)
        if indices.dtype == np.int16:
            return 6
        if op.attrs.get("batch_dims", 0) != 0:
            return 5
        return dtype_version(params.dtype, {np.int16: 4, np.bool_: 3, np.int8: 2})


@register_op("REVERSE_V2")
class ReverseV2(OpDef):
    """The input with the order of its elements along each of the axes in input 1 reversed
    (TFLite takes one axis; a negative one counts from the end)."""

    quant = SameAsInput()
    options = Options("ReverseV2Options")
    static_inputs = (1,)

    def run_float(self, attrs, x, axes):
        axes = tuple(normalize_axis(a, x.ndim) for a in int_list(axes))
        return x[tuple(slice(None, None, -1) if i in axes else slice(None)
                       for i in range(x.ndim))]

    def version(self, op, graph):
        return dtype_version(input_tensor(op, graph).dtype, {np.int8: 3, np.bool_: 2})
