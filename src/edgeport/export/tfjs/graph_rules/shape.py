"""Ops that move data without arithmetic, in TF.js form: reshaping, padding, slicing,
gathering, resizing, joining and splitting, SHAPE.

Most are one TF node taking the same inputs (`_simple`); the rules below it adapt where TFLite
and TF differ: an option where TF takes an input (RESHAPE's new_shape, GATHER's and
CONCATENATION's axis), SQUEEZE's empty squeeze_dims, and SPACE_TO_DEPTH, which tfjs lacks.
"""

from __future__ import annotations

import numpy as np

from ....errors import UnsupportedOpError
from ..emitter import a_bool, a_int, a_ints, a_str, a_type, base, out
from .activations import activate


def _simple(tf_op: str, attrs=lambda op: {}):
    """The rule of an op that is ``tf_op`` on the same inputs, with ``attrs(op)``."""
    def emit(em, op):
        em.set(out(op), em.node(tf_op, [em.ref(n) for n in op.inputs if n is not None],
                                base(op), attrs(op), dtype=em.spec(out(op)).dtype))
    return emit


def _resize_attrs(op) -> dict:
    return {"align_corners": a_bool(op.attrs.get("align_corners")),
            "half_pixel_centers": a_bool(op.attrs.get("half_pixel_centers"))}


_SIMPLE = {
    "EXPAND_DIMS": _simple("ExpandDims"),
    "TRANSPOSE": _simple("Transpose"),
    "PAD": _simple("Pad"),
    "PADV2": _simple("PadV2"),
    "SLICE": _simple("Slice"),
    "RESIZE_BILINEAR": _simple("ResizeBilinear", _resize_attrs),
    "RESIZE_NEAREST_NEIGHBOR": _simple("ResizeNearestNeighbor", _resize_attrs),
    "PACK": _simple("Pack", lambda op: {"axis": a_int(op.attrs.get("axis", 0)),
                                        "N": a_int(len(op.inputs))}),
    "DEPTH_TO_SPACE": _simple("DepthToSpace", lambda op: {
        "block_size": a_int(op.attrs["block_size"]), "data_format": a_str("NHWC")}),
}


def _shape_input(em, op, attr: str):
    """The shape operand of RESHAPE: its second input, or the new_shape option."""
    if len(op.inputs) > 1 and op.inputs[1] is not None:
        return em.ref(op.inputs[1])
    shape = op.attrs.get(attr)
    if shape is None:
        shape = [-1 if i == 0 else d for i, d in enumerate(em.spec(out(op)).shape)]
    return em.const(np.array(shape, np.int32), f"{base(op)}/shape")


def reshape(em, op):
    em.set(out(op), em.node("Reshape", [em.ref(op.inputs[0]), _shape_input(em, op, "new_shape")],
                            base(op), dtype=em.spec(out(op)).dtype))


def squeeze(em, op):
    dims = list(op.attrs.get("squeeze_dims") or [])
    if not dims:  # tfjs squeezes nothing for an empty list; TFLite squeezes every 1
        dims = [i for i, d in enumerate(em.spec(op.inputs[0]).shape) if d == 1]
    em.set(out(op), em.node("Squeeze", [em.ref(op.inputs[0])], base(op),
                            {"squeeze_dims": a_ints(dims), "axis": a_ints(dims)},
                            dtype=em.spec(out(op)).dtype))


_MASKS = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
_strided_slice = _simple("StridedSlice", lambda o: {m: a_int(o.attrs.get(m, 0)) for m in _MASKS})


def strided_slice(em, op):
    if op.attrs.get("offset"):
        raise UnsupportedOpError(f"{op.label}: STRIDED_SLICE with offset=true has no TF op")
    _strided_slice(em, op)


def gather(em, op):  # the axis is an option in TFLite, an input in TF
    name = base(op)
    axis = em.const(np.int32(op.attrs.get("axis", 0)), f"{name}/axis")
    em.set(out(op), em.node("GatherV2", [em.ref(op.inputs[0]), em.ref(op.inputs[1]), axis], name,
                            {"batch_dims": a_int(op.attrs.get("batch_dims", 0))},
                            dtype=em.spec(out(op)).dtype))


def concatenation(em, op):
    name = base(op)
    axis = em.const(np.int32(op.attrs.get("axis", 0)), f"{name}/axis")
    ref = em.node("ConcatV2", [*(em.ref(n) for n in op.inputs), axis], name,
                  {"N": a_int(len(op.inputs)), "Tidx": a_type(np.int32)},
                  dtype=em.spec(out(op)).dtype)
    em.set(out(op), activate(em, ref, op.attrs.get("fused_activation_function"), name))


def _multi(em, op, node: str) -> None:
    """Map the op's outputs to ``node``'s outputs 0, 1, ..."""
    for i, name in enumerate(op.outputs):
        em.set(name, node if i == 0 else f"{node}:{i}")


def unpack(em, op):
    _multi(em, op, em.node("Unpack", [em.ref(op.inputs[0])], base(op),
                           {"axis": a_int(op.attrs.get("axis", 0)), "num": a_int(len(op.outputs))},
                           dtype=em.spec(out(op)).dtype))


def split(em, op):  # TFLite and TF both take (axis, value)
    _multi(em, op, em.node("Split", [em.ref(op.inputs[0]), em.ref(op.inputs[1])], base(op),
                           {"num_split": a_int(len(op.outputs))}, dtype=em.spec(out(op)).dtype))


def split_v(em, op):  # (value, size_splits, axis) in both
    _multi(em, op, em.node("SplitV", [em.ref(n) for n in op.inputs], base(op),
                           {"num_split": a_int(len(op.outputs))}, dtype=em.spec(out(op)).dtype))


def shape(em, op):
    em.set(out(op), em.node("Shape", [em.ref(op.inputs[0])], base(op),
                            {"out_type": a_type(np.int32)}))


def space_to_depth(em, op):
    """tfjs has no SpaceToDepth: reshape [N, H/b, b, W/b, b, C], move the two block axes
    next to C, and merge them into the depth (TF's order: block row, block column, channel)."""
    b = op.attrs["block_size"]
    _, h, w, c = em.spec(op.inputs[0]).shape
    name = base(op)
    x = em.node("Reshape", [em.ref(op.inputs[0]), em.const(
        np.array([-1, h // b, b, w // b, b, c], np.int32), f"{name}/blocks")], f"{name}/split")
    x = em.node("Transpose", [x, em.const(np.array([0, 1, 3, 2, 4, 5], np.int32),
                                          f"{name}/perm")], f"{name}/move")
    em.set(out(op), em.node("Reshape", [x, em.const(
        np.array([-1, h // b, w // b, b * b * c], np.int32), f"{name}/merged")], name))


RULES = {**_SIMPLE, "RESHAPE": reshape, "SQUEEZE": squeeze, "STRIDED_SLICE": strided_slice,
         "GATHER": gather, "CONCATENATION": concatenation, "UNPACK": unpack, "SPLIT": split,
         "SPLIT_V": split_v, "SHAPE": shape, "SPACE_TO_DEPTH": space_to_depth}
