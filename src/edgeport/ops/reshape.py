"""Shape-changing ops that move no data (RESHAPE, SQUEEZE, EXPAND_DIMS), TRANSPOSE, SHAPE
and CAST; plus the small helpers the data-movement families share (axes, index dtypes,
dtype-driven op versions).

Shape-like inputs (shape, axis, perm) are usually constants but may be runtime tensors: the
kernels read them at every call. Shape inference then cannot see their values; the shape
rules here return a placeholder guess so planning does not fail, and the real shape comes
from the kernel at run time.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOpError
from ..arrays import array_namespace
from .options import IntList, Options, TensorTypeName
from .quant_rules import SameAsInput, Unquantized
from .registry import OpDef, register_op, traceable


# -- helpers shared by reshape, slicing, pad and reduce ---------------------------------------
def normalize_axis(axis: int, rank: int) -> int:
    """A possibly negative axis as TFLite resolves it: ``axis + rank`` when negative."""
    axis = int(axis)
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def normalize_axes(axes, rank: int) -> tuple[int, ...]:
    """Sorted, de-duplicated non-negative axes (reducers accept negative and repeated axes)."""
    return tuple(sorted({normalize_axis(a, rank) for a in np.ravel(axes)}))


def int_list(values) -> list[int]:
    """An int32/int64 shape-like tensor (or attrs tuple) as a list of Python ints."""
    return [int(v) for v in np.ravel(values)]


def index_dtype(type_name: str, op_name: str) -> np.dtype:
    """The dtype of an index output chosen by a TensorType option (SHAPE, ARG_MAX):
    TFLite accepts only INT32 and INT64 there."""
    if type_name not in ("INT32", "INT64"):
        raise UnsupportedOpError(f"{op_name}: output type must be INT32 or INT64, "
                                 f"not {type_name}")
    return np.dtype(np.int32 if type_name == "INT32" else np.int64)


def input_tensor(op, graph, i: int = 0):
    """The graph tensor of the op's ``i``-th input."""
    return graph.tensors[op.inputs[i]]


def dtype_version(dtype, table: dict, default: int = 1) -> int:
    """The version for ``dtype`` from a {numpy type: version} table (op_version.cc's
    per-type branches)."""
    return table.get(np.dtype(dtype).type, default)


# -- ops ----------------------------------------------------------------------------------------
def resolve_shape(new_shape, size: int) -> tuple[int, ...]:
    """TFLite's reshape rule: at most one -1 dimension, inferred from the element count."""
    shape = list(new_shape)
    if shape.count(-1) > 1:
        raise ValueError(f"reshape target {shape} has more than one -1")
    if -1 in shape:
        rest = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        shape[shape.index(-1)] = size // rest if rest else 0
    if int(np.prod(shape, dtype=np.int64)) != size:
        raise ValueError(f"cannot reshape {size} elements to {shape}")
    return tuple(shape)


@register_op("RESHAPE")
class Reshape(OpDef):
    static_inputs = (1,)
    quant = SameAsInput()
    options = Options("ReshapeOptions", new_shape=IntList)

    def target(self, attrs, shape):
        """TFLite (reshape.cc) takes the shape input when it is a 1-D tensor, else the
        new_shape option; a legacy new_shape of [0] means a scalar."""
        if shape is not None and np.ndim(shape) == 1:
            return int_list(shape)
        new_shape = list(attrs.get("new_shape", ()))
        return [] if new_shape == [0] else new_shape

    def run_float(self, attrs, x, shape=None):
        return x.reshape(resolve_shape(self.target(attrs, shape), x.size))

    def shape(self, attrs, x, shape=None):
        if shape is None or shape.value is not None:
            return None  # exact by running the kernel
        # A runtime shape tensor: guess from new_shape, else keep everything in dim 0.
        rank = shape.shape[0] if len(shape.shape) == 1 else 0
        size = int(np.prod(x.shape, dtype=np.int64))
        target = self.target(attrs, None)
        if len(target) == rank:
            try:
                return [resolve_shape(target, size)]
            except ValueError:
                pass
        return [(size, *[1] * (rank - 1)) if rank else ()]


@register_op("SQUEEZE")
class Squeeze(OpDef):
    quant = SameAsInput()
    options = Options("SqueezeOptions", squeeze_dims=IntList)

    def run_float(self, attrs, x):
        dims = attrs.get("squeeze_dims", ())
        xp = array_namespace(x)
        if not dims:  # no squeeze_dims: drop every size-1 dimension
            return xp.squeeze(x)
        return xp.squeeze(x, axis=normalize_axes(dims, x.ndim))


@register_op("EXPAND_DIMS")
class ExpandDims(OpDef):
    static_inputs = (1,)
    quant = SameAsInput()
    options = Options("ExpandDimsOptions")

    def run_float(self, attrs, x, axis):
        # A negative axis counts from the end of the output: axis + rank + 1.
        return array_namespace(x).expand_dims(x, normalize_axis(int_list(axis)[0], x.ndim + 1))


@register_op("TRANSPOSE")
class Transpose(OpDef):
    static_inputs = (1,)
    quant = SameAsInput()
    options = Options("TransposeOptions")

    def run_float(self, attrs, x, perm):
        return x.transpose([normalize_axis(p, x.ndim) for p in int_list(perm)])

    def shape(self, attrs, x, perm):
        if perm.value is not None:
            return None
        return [tuple(reversed(x.shape))]  # runtime perm: a placeholder guess

    def version(self, op, graph):
        x = input_tensor(op, graph)
        if len(x.shape) > 5:
            return 6
        if x.dtype == np.int16:
            return 5
        if len(x.shape) > 4:
            return 4
        return dtype_version(x.dtype, {np.bool_: 3, np.int8: 2})


@register_op("SHAPE")
class Shape(OpDef):
    quant = Unquantized(moves_data=True)  # a shape query; on integers as they are
    options = Options("ShapeOptions", out_type=TensorTypeName)

    def run_float(self, attrs, x):
        return np.array(x.shape, dtype=index_dtype(attrs.get("out_type", "INT32"), self.name))

    def value(self, attrs, x):
        """Known once the input's shape is: SHAPE -> ... -> RESHAPE chains fold at load."""
        return [self.run_float(attrs, np.empty(x.shape, dtype=np.uint8))]


@register_op("CAST")
class Cast(OpDef):
    """The output dtype is the output tensor's (TFLite ignores CastOptions); elements convert
    as C's static_cast: float -> int truncates toward zero, x -> bool is x != 0."""

    options = Options("CastOptions", in_data_type=TensorTypeName, out_data_type=TensorTypeName)
    quant = Unquantized()

    def prepare(self, op, graph):
        dtype = graph.tensors[op.outputs[0]].dtype
        return traceable(lambda inputs: [inputs[0].astype(dtype)])

    def run_jax(self, attrs, x):
        """For a graph walked without its tensors (quantization-aware training): the dtype of
        the options, which edgeport's frontends always set."""
        from ..tflite_schema import DTYPES  # tflite_schema imports this package

        return x.astype(DTYPES[attrs.get("out_data_type", "FLOAT32")])

    def version(self, op, graph):
        dtypes = {input_tensor(op, graph).dtype.type, graph.tensors[op.outputs[0]].dtype.type}
        for types, version in (({np.float64, np.float16}, 5), ({np.uint16}, 4),
                               ({np.int8}, 3), ({np.uint32}, 2)):
            if dtypes & types:
                return version
        return 1
