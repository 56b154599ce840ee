"""DENSIFY: a constant sparse tensor (TACO format, as .tflite stores pruned weights) -> dense.

Follows tensorflow/lite/kernels/internal/utils/sparsity_format_converter.cc (SparseToDense):
the stored values are the leaves of a walk over the dimensions in ``traversal_order``. Each
walked dimension is DENSE (every index 0..dense_size-1) or SPARSE_CSR (the indices
``indices[segments[p]:segments[p + 1]]`` below parent position p). Walked dimensions past the
tensor's rank are block dimensions: ``block_map[k]`` names the original dimension the k-th block
dimension subdivides, so a 4x1-blocked matrix walks (rows/4, cols, 4). Everything not stored is
zero. The result depends only on the constant, so it is computed once, in ``prepare``.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelFormatError
from ..graph import Sparsity
from .options import Options
from .quant_rules import Unquantized
from .registry import OpDef, register_op


def densify(values: np.ndarray, sparsity: Sparsity, shape: tuple[int, ...]) -> np.ndarray:
    """The dense ``shape`` tensor that ``values`` with ``sparsity`` stands for."""
    rank, order, dims = len(shape), sparsity.traversal_order, sparsity.dim_metadata
    if sorted(order) != list(range(rank + len(sparsity.block_map))) or len(dims) != len(order):
        raise ModelFormatError(f"traversal order {list(order)} with {len(dims)} dimension "
                               f"metadata does not describe a rank-{rank} tensor with "
                               f"{len(sparsity.block_map)} block dimensions")
    # Block sizes are the dense sizes of the block dimensions (InitSparseToDenseConverter).
    block_size = [dims[order[rank + k]].dense_size for k in range(len(sparsity.block_map))]

    # Walk the levels breadth-first, keeping the leaves in the depth-first order of Populate:
    # each path's position in its level (``parent``) and its index at every level so far.
    parent = np.zeros(1, np.int64)
    level_index: list[np.ndarray] = []
    for dim in dims:
        if dim.format == "DENSE":
            size = dim.dense_size
            level_index = [np.repeat(idx, size) for idx in level_index]
            level_index.append(np.tile(np.arange(size, dtype=np.int64), parent.size))
            parent = (np.repeat(parent, size) * size + level_index[-1])
            continue
        segments = np.asarray(dim.segments, np.int64)
        indices = np.asarray(dim.indices, np.int64)
        # A parent past the segment array has no children (as in Populate).
        valid = parent + 1 < segments.size
        start = np.where(valid, segments[np.minimum(parent, segments.size - 1)], 0)
        stop = np.where(valid, segments[np.minimum(parent + 1, segments.size - 1)], 0)
        count = np.maximum(stop - start, 0)
        first = np.repeat(start - (np.cumsum(count) - count), count)
        child = first + np.arange(int(count.sum()), dtype=np.int64)
        kept = child < indices.size  # children past the index array are skipped too
        level_index = [np.repeat(idx, count)[kept] for idx in level_index]
        parent = child[kept]
        level_index.append(indices[parent])

    if parent.size > values.size:
        raise ModelFormatError(f"sparse tensor metadata addresses {parent.size} values but "
                               f"only {values.size} are stored")
    original = [None] * rank
    for level in range(rank):
        original[order[level]] = level_index[level]
    for level in range(rank, len(order)):
        block = order[level] - rank
        target = sparsity.block_map[block]
        original[target] = original[target] * block_size[block] + level_index[level]

    dense = np.zeros(shape, values.dtype)
    if parent.size:
        for axis, idx in enumerate(original):
            if idx.size and (idx.min() < 0 or idx.max() >= shape[axis]):
                raise ModelFormatError(f"sparse tensor index out of range for dense shape "
                                       f"{list(shape)}")
        dense[tuple(original)] = values[:parent.size]
    return dense


@register_op("DENSIFY")
class Densify(OpDef):
    options = Options("DensifyOptions")
    traces = False  # a constant, computed in prepare
    quant = Unquantized()

    def shape(self, attrs, sparse):
        return [sparse.shape]  # a sparse tensor's declared shape is its dense shape

    def prepare(self, op, graph):
        tensor = graph.tensors[op.inputs[0]]
        if tensor.sparsity is None or tensor.data is None:
            raise ModelFormatError(f"{op.label}: input {tensor.name!r} is not a constant "
                                   "sparse tensor")
        try:
            dense = densify(tensor.data.reshape(-1), tensor.sparsity, tensor.shape)
        except ModelFormatError as exc:
            raise ModelFormatError(f"{op.label}: tensor {tensor.name!r}: {exc}") from exc
        except (IndexError, ValueError) as exc:
            raise ModelFormatError(f"{op.label}: tensor {tensor.name!r} has inconsistent "
                                   f"sparsity metadata: {exc}") from exc
        return lambda inputs: [dense]
