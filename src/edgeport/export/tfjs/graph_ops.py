"""The TFLite -> TensorFlow op table of the graph-model exporter: one rule per IR op type.

A rule reads an IR `Op` and emits TF nodes through an `Emitter`, converting weight layouts from
TFLite's to TensorFlow's: CONV_2D filters OHWI -> HWIO, DEPTHWISE_CONV_2D 1HW(C*M) -> HWCM,
TRANSPOSE_CONV OHWI -> HWOI, FULLY_CONNECTED [out, in] -> MatMul's [in, out]. The attrs written
are those tfjs-converter's op_list declares without a default (strides, padding, dilations,
ksize...). Fused activations become tfjs's fused_ops where tfjs supports them (Relu, Relu6 on
_FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul), separate nodes otherwise.
"""

from __future__ import annotations

import struct

import numpy as np

from ...errors import UnsupportedOpError
from .graph_model import (Emitter, a_bool, a_float, a_int, a_ints, a_str, a_strs, a_type)

RULES: dict = {}

# TFLite fused_activation_function -> a TF op on the result (None: nothing to do)
_FUSABLE = {"RELU": "Relu", "RELU6": "Relu6"}


def rule(*types):
    def register(fn):
        for t in types:
            RULES[t] = fn
        return fn
    return register


def _out(op) -> str:
    return op.outputs[0]


def activate(em: Emitter, ref: str, activation: str | None, base: str) -> str:
    """Apply a TFLite fused activation as separate TF nodes."""
    activation = activation or "NONE"
    if activation == "NONE":
        return ref
    if activation in _FUSABLE:
        return em.node(_FUSABLE[activation], [ref], f"{base}/{activation.lower()}")
    if activation == "TANH":
        return em.node("Tanh", [ref], f"{base}/tanh")
    if activation == "RELU_N1_TO_1":
        return _clip(em, ref, -1.0, 1.0, base)
    raise UnsupportedOpError(f"{base}: fused activation {activation} has no TF.js mapping")


def _clip(em, ref, lo, hi, base):
    return em.node("ClipByValue", [ref, em.const(np.float32(lo), f"{base}/min"),
                                   em.const(np.float32(hi), f"{base}/max")], f"{base}/clip")


def _fused(em: Emitter, tf_op: str, x: str, w: str, bias: np.ndarray | str, op, attrs: dict):
    """A _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul with BiasAdd and, when tfjs
    can fuse it, the activation."""
    em.set(_out(op), _fused_node(em, tf_op, x, w, bias, op, attrs, op.origin or _out(op)))


def _fused_node(em: Emitter, tf_op: str, x: str, w: str, bias: np.ndarray | str, op,
                attrs: dict, base: str) -> str:
    """`_fused`'s nodes, named from ``base``; returns the (activated) result."""
    activation = op.attrs.get("fused_activation_function", "NONE")
    fused = ["BiasAdd"] + ([_FUSABLE[activation]] if activation in _FUSABLE else [])
    b = bias if isinstance(bias, str) else em.const(bias, f"{base}/bias")
    ref = em.node(tf_op, [x, w, b], base, {**attrs, "fused_ops": a_strs(fused),
                                           "num_args": a_int(1), "epsilon": a_float(0.0)})
    if activation not in _FUSABLE:
        ref = activate(em, ref, activation, base)
    return ref


def _bias(em, op, index: int, channels: int):
    name = op.inputs[index] if len(op.inputs) > index else None
    if name is None:
        return np.zeros(channels, np.float32)
    return em.ref(name)


def _conv_attrs(op) -> dict:
    return {"strides": a_ints([1, op.attrs.get("stride_h", 1), op.attrs.get("stride_w", 1), 1]),
            "padding": a_str(op.attrs.get("padding", "VALID")),
            "dilations": a_ints([1, op.attrs.get("dilation_h_factor", 1),
                                 op.attrs.get("dilation_w_factor", 1), 1]),
            "data_format": a_str("NHWC")}


@rule("CONV_2D")
def conv_2d(em, op):
    w = em.value(op.inputs[1], op, "filter")
    channels = em.spec(op.inputs[0]).shape[-1]
    attrs = {**_conv_attrs(op), "explicit_paddings": a_ints([])}
    if channels > 0 and w.shape[3] != channels:
        _grouped_conv_2d(em, op, w, channels // w.shape[3], attrs)
        return
    hwio = em.const(np.transpose(w, (1, 2, 3, 0)), f"{op.origin or _out(op)}/kernel")
    _fused(em, "_FusedConv2D", em.ref(op.inputs[0]), hwio, _bias(em, op, 2, w.shape[0]), op,
           attrs)


def _grouped_conv_2d(em, op, w: np.ndarray, groups: int, attrs: dict):
    """tfjs's Conv2D has no groups: Split the input channels into ``groups``, convolve each
    with its filter rows (TFLite's grouped OHWI filter holds group g's outputs at rows
    g*O/G..(g+1)*O/G, each reading that group's I/G input channels), ConcatV2 the results."""
    base = op.origin or _out(op)
    bias = (em.value(op.inputs[2], op, "bias") if len(op.inputs) > 2 and op.inputs[2]
            else np.zeros(w.shape[0], np.float32))
    split = em.node("Split", [em.const(np.int32(3), f"{base}/split_axis"), em.ref(op.inputs[0])],
                    f"{base}/split", {"num_split": a_int(groups)})
    per = w.shape[0] // groups
    parts = []
    for g in range(groups):
        rows = slice(g * per, (g + 1) * per)
        kernel = em.const(np.transpose(w[rows], (1, 2, 3, 0)), f"{base}/group{g}/kernel")
        parts.append(_fused_node(em, "_FusedConv2D", split if g == 0 else f"{split}:{g}",
                                 kernel, bias[rows], op, attrs, f"{base}/group{g}"))
    em.set(_out(op), em.node("ConcatV2", [*parts, em.const(np.int32(3), f"{base}/concat_axis")],
                             base, {"N": a_int(groups), "Tidx": a_type(np.int32)}))


@rule("DEPTHWISE_CONV_2D")
def depthwise_conv_2d(em, op):
    w = em.value(op.inputs[1], op, "filter")
    channels = em.spec(op.inputs[0]).shape[-1]
    _, kh, kw, out = w.shape
    hwcm = w.reshape(kh, kw, channels, out // channels)  # TFLite's channel o = c * M + m
    kernel = em.const(hwcm, f"{op.origin or _out(op)}/depthwise_kernel")
    _fused(em, "FusedDepthwiseConv2dNative", em.ref(op.inputs[0]), kernel,
           _bias(em, op, 2, out), op, _conv_attrs(op))


def _transpose_conv(em, op, x, w, bias, output_shape, padding, strides):
    """Conv2DBackpropInput (+ BiasAdd): TFLite's OHWI filter is TF's HWOI here."""
    base = op.origin or _out(op)
    kernel = em.const(np.transpose(w, (1, 2, 0, 3)), f"{base}/kernel")
    ref = em.node("Conv2DBackpropInput", [output_shape, kernel, em.ref(x)], base, {
        "strides": a_ints([1, *strides, 1]), "padding": a_str(padding),
        "dilations": a_ints([1, 1, 1, 1]), "data_format": a_str("NHWC")})
    if bias is not None:
        ref = em.node("BiasAdd", [ref, em.ref(bias)], f"{base}/bias_add",
                      {"data_format": a_str("NHWC")})
    em.set(_out(op), activate(em, ref, op.attrs.get("fused_activation_function"), base))


@rule("TRANSPOSE_CONV")
def transpose_conv(em, op):
    shape, w_name, x = op.inputs[:3]
    bias = op.inputs[3] if len(op.inputs) > 3 else None
    _transpose_conv(em, op, x, em.value(w_name, op, "filter"), bias, em.ref(shape),
                    op.attrs.get("padding", "VALID"),
                    (op.attrs.get("stride_h", 1), op.attrs.get("stride_w", 1)))


@rule("CUSTOM:Convolution2DTransposeBias")
def mediapipe_transpose_conv_bias(em, op):
    """mediapipe's transposed convolution + bias; its custom options are a raw
    TfLiteTransposeConvParams (int32 padding 1=SAME 2=VALID, stride_w, stride_h)."""
    padding, stride_w, stride_h = struct.unpack_from("<3i", op.attrs["custom_options"])
    x, w_name, bias = op.inputs
    w = em.value(w_name, op, "filter")
    n, h, wd, _ = em.spec(x).shape
    size = []
    for extent, k, s in ((h, w.shape[1], stride_h), (wd, w.shape[2], stride_w)):
        total = max(0, k - (extent - 1) % s - 1) if padding == 1 else 0
        size.append(s * (extent - 1) + k - total)
    out_shape = em.const(np.array([max(n, 1), *size, w.shape[0]], np.int32),
                         f"{op.origin or _out(op)}/output_shape")
    _transpose_conv(em, op, x, w, bias, out_shape, "SAME" if padding == 1 else "VALID",
                    (stride_h, stride_w))


@rule("FULLY_CONNECTED")
def fully_connected(em, op):
    x, w_name = op.inputs[:2]
    base = op.origin or _out(op)
    x_shape = em.spec(x).shape
    n_in = em.spec(w_name).shape[1]
    ref = em.ref(x)
    if len(x_shape) != 2:  # TFLite flattens the leading dims
        ref = em.node("Reshape", [ref, em.const(np.array([-1, n_in], np.int32),
                                                f"{base}/flat_shape")], f"{base}/flatten")
    t = em.spec(w_name)
    if t.is_constant:
        w, transpose_b = em.const(t.data.T, f"{base}/kernel"), False
    else:
        w, transpose_b = em.ref(w_name), True
    bias = _bias(em, op, 2, t.shape[0])
    _fused(em, "_FusedMatMul", ref, w, bias, op,
           {"transpose_a": a_bool(False), "transpose_b": a_bool(transpose_b)})
    out_shape = em.spec(_out(op)).shape
    if len(out_shape) != 2:
        shape = [-1, *out_shape[1:]]
        em.set(_out(op), em.node("Reshape", [em.refs[_out(op)], em.const(
            np.array(shape, np.int32), f"{base}/out_shape")], f"{base}/unflatten"))


@rule("BATCH_MATMUL")
def batch_matmul(em, op):
    em.set(_out(op), em.node("BatchMatMulV2", [em.ref(op.inputs[0]), em.ref(op.inputs[1])],
                             op.origin or _out(op), {"adj_x": a_bool(op.attrs.get("adj_x")),
                                                     "adj_y": a_bool(op.attrs.get("adj_y"))}))


_BINARY = {"ADD": "AddV2", "SUB": "Sub", "MUL": "Mul", "DIV": "RealDiv", "MAXIMUM": "Maximum",
           "MINIMUM": "Minimum", "SQUARED_DIFFERENCE": "SquaredDifference"}


@rule(*_BINARY)
def binary(em, op):
    base = op.origin or _out(op)
    ref = em.node(_BINARY[op.type], [em.ref(op.inputs[0]), em.ref(op.inputs[1])], base,
                  dtype=em.spec(_out(op)).dtype)
    em.set(_out(op), activate(em, ref, op.attrs.get("fused_activation_function"), base))


_UNARY = {"RELU": "Relu", "RELU6": "Relu6", "LOGISTIC": "Sigmoid", "TANH": "Tanh", "ELU": "Elu",
          "EXP": "Exp", "LOG": "Log", "SQRT": "Sqrt", "RSQRT": "Rsqrt", "LOG_SOFTMAX": "LogSoftmax"}


@rule(*_UNARY)
def unary(em, op):
    em.set(_out(op), em.node(_UNARY[op.type], [em.ref(op.inputs[0])], op.origin or _out(op)))


@rule("RELU_N1_TO_1")
def relu_n1_to_1(em, op):
    em.set(_out(op), _clip(em, em.ref(op.inputs[0]), -1.0, 1.0, op.origin or _out(op)))


@rule("LEAKY_RELU")
def leaky_relu(em, op):
    em.set(_out(op), em.node("LeakyRelu", [em.ref(op.inputs[0])], op.origin or _out(op),
                             {"alpha": a_float(op.attrs.get("alpha", 0.2))}))


@rule("PRELU")
def prelu(em, op):
    em.set(_out(op), em.node("Prelu", [em.ref(op.inputs[0]), em.ref(op.inputs[1])],
                             op.origin or _out(op)))


@rule("HARD_SWISH")
def hard_swish(em, op):
    """x * relu6(x + 3) / 6, as TFLite's reference HardSwish."""
    base, x = op.origin or _out(op), em.ref(op.inputs[0])
    shifted = em.node("AddV2", [x, em.const(np.float32(3), f"{base}/three")], f"{base}/add")
    gate = em.node("Relu6", [shifted], f"{base}/relu6")
    scaled = em.node("Mul", [gate, em.const(np.float32(1 / 6), f"{base}/sixth")], f"{base}/div")
    em.set(_out(op), em.node("Mul", [x, scaled], base))


@rule("GELU")
def gelu(em, op):
    """0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation when ``approximate``."""
    base, x = op.origin or _out(op), em.ref(op.inputs[0])
    c = lambda v, n: em.const(np.float32(v), f"{base}/{n}")  # noqa: E731
    if op.attrs.get("approximate"):
        cube = em.node("Mul", [em.node("Square", [x], f"{base}/sq"), x], f"{base}/cube")
        inner = em.node("AddV2", [x, em.node("Mul", [cube, c(0.044715, "k")], f"{base}/kc")],
                        f"{base}/inner")
        gate = em.node("Tanh", [em.node("Mul", [inner, c(np.sqrt(2 / np.pi), "s")],
                                        f"{base}/scaled")], f"{base}/tanh")
    else:
        gate = em.node("Erf", [em.node("Mul", [x, c(1 / np.sqrt(2), "s")], f"{base}/scaled")],
                       f"{base}/erf")
    half = em.node("Mul", [x, c(0.5, "half")], f"{base}/half_x")
    one = em.node("AddV2", [gate, c(1.0, "one")], f"{base}/one_plus")
    em.set(_out(op), em.node("Mul", [half, one], base))


@rule("SOFTMAX")
def softmax(em, op):
    base, x = op.origin or _out(op), em.ref(op.inputs[0])
    beta = float(op.attrs.get("beta", 1.0))
    if beta != 1.0:
        x = em.node("Mul", [x, em.const(np.float32(beta), f"{base}/beta")], f"{base}/scaled")
    em.set(_out(op), em.node("Softmax", [x], base))


@rule("L2_NORMALIZATION")
def l2_normalization(em, op):
    """x / max(||x||, 1e-6) over the last axis (reference_ops::L2Normalization)."""
    base, x = op.origin or _out(op), em.ref(op.inputs[0])
    total = em.node("Sum", [em.node("Square", [x], f"{base}/sq"),
                            em.const(np.array([-1], np.int32), f"{base}/axis")], f"{base}/sum",
                    {"keep_dims": a_bool(True), "Tidx": a_type(np.int32)})
    norm = em.node("Maximum", [em.node("Sqrt", [total], f"{base}/norm"),
                               em.const(np.float32(1e-6), f"{base}/eps")], f"{base}/clamped")
    ref = em.node("RealDiv", [x, norm], base)
    em.set(_out(op), activate(em, ref, op.attrs.get("fused_activation_function"), base))


@rule("MAX_POOL_2D", "AVERAGE_POOL_2D")
def pool(em, op):
    base = op.origin or _out(op)
    a = op.attrs
    ref = em.node("MaxPool" if op.type == "MAX_POOL_2D" else "AvgPool", [em.ref(op.inputs[0])],
                  base, {"ksize": a_ints([1, a["filter_height"], a["filter_width"], 1]),
                         "strides": a_ints([1, a.get("stride_h", 1), a.get("stride_w", 1), 1]),
                         "padding": a_str(a.get("padding", "VALID")),
                         "data_format": a_str("NHWC")})
    em.set(_out(op), activate(em, ref, a.get("fused_activation_function"), base))


_REDUCE = {"MEAN": "Mean", "SUM": "Sum", "REDUCE_MAX": "Max"}


@rule(*_REDUCE)
def reduce(em, op):
    em.set(_out(op), em.node(_REDUCE[op.type], [em.ref(op.inputs[0]), em.ref(op.inputs[1])],
                             op.origin or _out(op), {"keep_dims": a_bool(op.attrs.get("keep_dims")),
                                                     "Tidx": a_type(np.int32)},
                             dtype=em.spec(_out(op)).dtype))


@rule("ARG_MAX")
def arg_max(em, op):
    em.set(_out(op), em.node("ArgMax", [em.ref(op.inputs[0]), em.ref(op.inputs[1])],
                             op.origin or _out(op), {"output_type": a_type(np.int32)}))


def _shape_input(em, op, attr: str):
    """The shape operand of RESHAPE: its second input, or the new_shape option."""
    if len(op.inputs) > 1 and op.inputs[1] is not None:
        return em.ref(op.inputs[1])
    shape = op.attrs.get(attr)
    if shape is None:
        shape = [-1 if i == 0 else d for i, d in enumerate(em.spec(_out(op)).shape)]
    return em.const(np.array(shape, np.int32), f"{op.origin or _out(op)}/shape")


@rule("RESHAPE")
def reshape(em, op):
    em.set(_out(op), em.node("Reshape", [em.ref(op.inputs[0]), _shape_input(em, op, "new_shape")],
                             op.origin or _out(op), dtype=em.spec(_out(op)).dtype))


@rule("SQUEEZE")
def squeeze(em, op):
    dims = list(op.attrs.get("squeeze_dims") or [])
    if not dims:  # tfjs squeezes nothing for an empty list; TFLite squeezes every 1
        dims = [i for i, d in enumerate(em.spec(op.inputs[0]).shape) if d == 1]
    em.set(_out(op), em.node("Squeeze", [em.ref(op.inputs[0])], op.origin or _out(op),
                             {"squeeze_dims": a_ints(dims), "axis": a_ints(dims)},
                             dtype=em.spec(_out(op)).dtype))


def _simple(tf_op: str, attrs=lambda op: {}):
    def emit(em, op):
        em.set(_out(op), em.node(tf_op, [em.ref(n) for n in op.inputs if n is not None],
                                 op.origin or _out(op), attrs(op), dtype=em.spec(_out(op)).dtype))
    return emit


RULES.update({
    "EXPAND_DIMS": _simple("ExpandDims"),
    "TRANSPOSE": _simple("Transpose"),
    "PAD": _simple("Pad"),
    "PADV2": _simple("PadV2"),
    "SLICE": _simple("Slice"),
    "RESIZE_BILINEAR": _simple("ResizeBilinear", lambda op: {
        "align_corners": a_bool(op.attrs.get("align_corners")),
        "half_pixel_centers": a_bool(op.attrs.get("half_pixel_centers"))}),
    "RESIZE_NEAREST_NEIGHBOR": _simple("ResizeNearestNeighbor", lambda op: {
        "align_corners": a_bool(op.attrs.get("align_corners")),
        "half_pixel_centers": a_bool(op.attrs.get("half_pixel_centers"))}),
    "PACK": _simple("Pack", lambda op: {"axis": a_int(op.attrs.get("axis", 0)),
                                        "N": a_int(len(op.inputs))}),
    "DEPTH_TO_SPACE": _simple("DepthToSpace", lambda op: {
        "block_size": a_int(op.attrs["block_size"]), "data_format": a_str("NHWC")}),
})


@rule("STRIDED_SLICE")
def strided_slice(em, op):
    if op.attrs.get("offset"):
        raise UnsupportedOpError(f"{op.label}: STRIDED_SLICE with offset=true has no TF op")
    masks = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
    _simple("StridedSlice", lambda o: {m: a_int(o.attrs.get(m, 0)) for m in masks})(em, op)


@rule("GATHER")
def gather(em, op):  # the axis is an option in TFLite, an input in TF
    base = op.origin or _out(op)
    axis = em.const(np.int32(op.attrs.get("axis", 0)), f"{base}/axis")
    em.set(_out(op), em.node("GatherV2", [em.ref(op.inputs[0]), em.ref(op.inputs[1]), axis], base,
                             {"batch_dims": a_int(op.attrs.get("batch_dims", 0))},
                             dtype=em.spec(_out(op)).dtype))


@rule("CONCATENATION")
def concatenation(em, op):
    base = op.origin or _out(op)
    axis = em.const(np.int32(op.attrs.get("axis", 0)), f"{base}/axis")
    ref = em.node("ConcatV2", [*(em.ref(n) for n in op.inputs), axis], base,
                  {"N": a_int(len(op.inputs)), "Tidx": a_type(np.int32)},
                  dtype=em.spec(_out(op)).dtype)
    em.set(_out(op), activate(em, ref, op.attrs.get("fused_activation_function"), base))


def _multi(em, op, node: str) -> None:
    for i, name in enumerate(op.outputs):
        em.set(name, node if i == 0 else f"{node}:{i}")


@rule("UNPACK")
def unpack(em, op):
    _multi(em, op, em.node("Unpack", [em.ref(op.inputs[0])], op.origin or _out(op),
                           {"axis": a_int(op.attrs.get("axis", 0)), "num": a_int(len(op.outputs))},
                           dtype=em.spec(_out(op)).dtype))


@rule("SPLIT")
def split(em, op):  # TFLite and TF both take (axis, value)
    _multi(em, op, em.node("Split", [em.ref(op.inputs[0]), em.ref(op.inputs[1])],
                           op.origin or _out(op), {"num_split": a_int(len(op.outputs))},
                           dtype=em.spec(_out(op)).dtype))


@rule("SPLIT_V")
def split_v(em, op):  # (value, size_splits, axis) in both
    _multi(em, op, em.node("SplitV", [em.ref(n) for n in op.inputs], op.origin or _out(op),
                           {"num_split": a_int(len(op.outputs))}, dtype=em.spec(_out(op)).dtype))


@rule("CAST")
def cast(em, op):
    em.set(_out(op), em.node("Cast", [em.ref(op.inputs[0])], op.origin or _out(op), {
        "SrcT": a_type(em.spec(op.inputs[0]).dtype), "DstT": a_type(em.spec(_out(op)).dtype)},
        dtype=None))


@rule("QUANTIZE", "DEQUANTIZE")
def dequantize(em, op):
    """What passes.dequantize_graph (run first) leaves of them: a float32 -> float32 one from
    a graph input or output straight to a graph output, an Identity; a DEQUANTIZE of a float16
    activation (weights are folded before), a Cast."""
    source = em.spec(op.inputs[0]).dtype
    if source == np.float32:
        em.set(_out(op), em.node("Identity", [em.ref(op.inputs[0])], op.origin or _out(op)))
    elif source == np.float16 and op.type == "DEQUANTIZE":
        cast(em, op)
    else:
        raise UnsupportedOpError(f"{op.label}: {source} activations without quantization "
                                 "parameters have no TF.js form; export the float model")


@rule("SHAPE")
def shape(em, op):
    em.set(_out(op), em.node("Shape", [em.ref(op.inputs[0])], op.origin or _out(op),
                             {"out_type": a_type(np.int32)}))


@rule("SPACE_TO_DEPTH")
def space_to_depth(em, op):
    """tfjs has no SpaceToDepth: reshape [N, H/b, b, W/b, b, C], move the two block axes
    next to C, and merge them into the depth (TF's order: block row, block column, channel)."""
    b = op.attrs["block_size"]
    _, h, w, c = em.spec(op.inputs[0]).shape
    base = op.origin or _out(op)
    x = em.node("Reshape", [em.ref(op.inputs[0]), em.const(
        np.array([-1, h // b, b, w // b, b, c], np.int32), f"{base}/blocks")], f"{base}/split")
    x = em.node("Transpose", [x, em.const(np.array([0, 1, 3, 2, 4, 5], np.int32),
                                          f"{base}/perm")], f"{base}/move")
    em.set(_out(op), em.node("Reshape", [x, em.const(
        np.array([-1, h // b, w // b, b * b * c], np.int32), f"{base}/merged")], base))
