"""Convolutions, matrix products and pooling in TF.js form, their weights converted from
TFLite's layouts to TensorFlow's.

CONV_2D filters OHWI -> HWIO, DEPTHWISE_CONV_2D 1HW(C*M) -> HWCM, TRANSPOSE_CONV OHWI -> HWOI,
FULLY_CONNECTED [out, in] -> MatMul's [in, out]. Bias and, where tfjs can fuse it, the fused
activation go into the _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul node.
"""

from __future__ import annotations

import struct

import numpy as np

from ..emitter import Emitter, a_bool, a_float, a_int, a_ints, a_str, a_strs, a_type, base, out
from .activations import ACTIVATION_OPS, FUSABLE, activate


def _fused(em: Emitter, tf_op: str, x: str, w: str, bias: np.ndarray | str, op, attrs: dict):
    """A _FusedConv2D / FusedDepthwiseConv2dNative / _FusedMatMul with BiasAdd and, when tfjs
    can fuse it, the activation."""
    em.set(out(op), _fused_node(em, tf_op, x, w, bias, op, attrs, base(op)))


def _fused_node(em: Emitter, tf_op: str, x: str, w: str, bias: np.ndarray | str, op,
                attrs: dict, name: str) -> str:
    """`_fused`'s nodes, named from ``name``; returns the (activated) result."""
    activation = op.attrs.get("fused_activation_function", "NONE")
    fused = ["BiasAdd"] + ([ACTIVATION_OPS[activation]] if activation in FUSABLE else [])
    b = bias if isinstance(bias, str) else em.const(bias, f"{name}/bias")
    ref = em.node(tf_op, [x, w, b], name, {**attrs, "fused_ops": a_strs(fused),
                                           "num_args": a_int(1), "epsilon": a_float(0.0)})
    if activation not in FUSABLE:
        ref = activate(em, ref, activation, name)
    return ref


def _bias(em, op, index: int, channels: int):
    """The reference to the op's bias input, or zeros when it has none."""
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


def conv_2d(em, op):
    w = em.value(op.inputs[1], op, "filter")
    channels = em.spec(op.inputs[0]).shape[-1]
    attrs = {**_conv_attrs(op), "explicit_paddings": a_ints([])}
    if channels > 0 and w.shape[3] != channels:
        _grouped_conv_2d(em, op, w, channels // w.shape[3], attrs)
        return
    hwio = em.const(np.transpose(w, (1, 2, 3, 0)), f"{base(op)}/kernel")
    _fused(em, "_FusedConv2D", em.ref(op.inputs[0]), hwio, _bias(em, op, 2, w.shape[0]), op,
           attrs)


def _grouped_conv_2d(em, op, w: np.ndarray, groups: int, attrs: dict):
    """tfjs's Conv2D has no groups: Split the input channels into ``groups``, convolve each
    with its filter rows (TFLite's grouped OHWI filter holds group g's outputs at rows
    g*O/G..(g+1)*O/G, each reading that group's I/G input channels), ConcatV2 the results."""
    name = base(op)
    bias = (em.value(op.inputs[2], op, "bias") if len(op.inputs) > 2 and op.inputs[2]
            else np.zeros(w.shape[0], np.float32))
    split = em.node("Split", [em.const(np.int32(3), f"{name}/split_axis"), em.ref(op.inputs[0])],
                    f"{name}/split", {"num_split": a_int(groups)})
    per = w.shape[0] // groups
    parts = []
    for g in range(groups):
        rows = slice(g * per, (g + 1) * per)
        kernel = em.const(np.transpose(w[rows], (1, 2, 3, 0)), f"{name}/group{g}/kernel")
        parts.append(_fused_node(em, "_FusedConv2D", split if g == 0 else f"{split}:{g}",
                                 kernel, bias[rows], op, attrs, f"{name}/group{g}"))
    em.set(out(op), em.node("ConcatV2", [*parts, em.const(np.int32(3), f"{name}/concat_axis")],
                            name, {"N": a_int(groups), "Tidx": a_type(np.int32)}))


def depthwise_conv_2d(em, op):
    w = em.value(op.inputs[1], op, "filter")
    channels = em.spec(op.inputs[0]).shape[-1]
    _, kh, kw, n_out = w.shape
    hwcm = w.reshape(kh, kw, channels, n_out // channels)  # TFLite's channel o = c * M + m
    kernel = em.const(hwcm, f"{base(op)}/depthwise_kernel")
    _fused(em, "FusedDepthwiseConv2dNative", em.ref(op.inputs[0]), kernel,
           _bias(em, op, 2, n_out), op, _conv_attrs(op))


def _transpose_conv(em, op, x, w, bias, output_shape, padding, strides):
    """Conv2DBackpropInput (+ BiasAdd): TFLite's OHWI filter is TF's HWOI here."""
    name = base(op)
    kernel = em.const(np.transpose(w, (1, 2, 0, 3)), f"{name}/kernel")
    ref = em.node("Conv2DBackpropInput", [output_shape, kernel, em.ref(x)], name, {
        "strides": a_ints([1, *strides, 1]), "padding": a_str(padding),
        "dilations": a_ints([1, 1, 1, 1]), "data_format": a_str("NHWC")})
    if bias is not None:
        ref = em.node("BiasAdd", [ref, em.ref(bias)], f"{name}/bias_add",
                      {"data_format": a_str("NHWC")})
    em.set(out(op), activate(em, ref, op.attrs.get("fused_activation_function"), name))


def transpose_conv(em, op):
    shape, w_name, x = op.inputs[:3]
    bias = op.inputs[3] if len(op.inputs) > 3 else None
    _transpose_conv(em, op, x, em.value(w_name, op, "filter"), bias, em.ref(shape),
                    op.attrs.get("padding", "VALID"),
                    (op.attrs.get("stride_h", 1), op.attrs.get("stride_w", 1)))


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
                         f"{base(op)}/output_shape")
    _transpose_conv(em, op, x, w, bias, out_shape, "SAME" if padding == 1 else "VALID",
                    (stride_h, stride_w))


def fully_connected(em, op):
    """_FusedMatMul on [batch, in] (TFLite flattens the leading dims; reshaped back after)."""
    x, w_name = op.inputs[:2]
    name = base(op)
    x_shape = em.spec(x).shape
    n_in = em.spec(w_name).shape[1]
    ref = em.ref(x)
    if len(x_shape) != 2:  # TFLite flattens the leading dims
        ref = em.node("Reshape", [ref, em.const(np.array([-1, n_in], np.int32),
                                                f"{name}/flat_shape")], f"{name}/flatten")
    t = em.spec(w_name)
    if t.is_constant:
        w, transpose_b = em.const(t.data.T, f"{name}/kernel"), False
    else:
        w, transpose_b = em.ref(w_name), True
    bias = _bias(em, op, 2, t.shape[0])
    _fused(em, "_FusedMatMul", ref, w, bias, op,
           {"transpose_a": a_bool(False), "transpose_b": a_bool(transpose_b)})
    out_shape = em.spec(out(op)).shape
    if len(out_shape) != 2:
        shape = [-1, *out_shape[1:]]
        em.set(out(op), em.node("Reshape", [em.refs[out(op)], em.const(
            np.array(shape, np.int32), f"{name}/out_shape")], f"{name}/unflatten"))


def batch_matmul(em, op):
    em.set(out(op), em.node("BatchMatMulV2", [em.ref(op.inputs[0]), em.ref(op.inputs[1])],
                            base(op), {"adj_x": a_bool(op.attrs.get("adj_x")),
                                       "adj_y": a_bool(op.attrs.get("adj_y"))}))


def pool(em, op):
    name = base(op)
    a = op.attrs
    ref = em.node("MaxPool" if op.type == "MAX_POOL_2D" else "AvgPool", [em.ref(op.inputs[0])],
                  name, {"ksize": a_ints([1, a["filter_height"], a["filter_width"], 1]),
                         "strides": a_ints([1, a.get("stride_h", 1), a.get("stride_w", 1), 1]),
                         "padding": a_str(a.get("padding", "VALID")),
                         "data_format": a_str("NHWC")})
    em.set(out(op), activate(em, ref, a.get("fused_activation_function"), name))


RULES = {"CONV_2D": conv_2d, "DEPTHWISE_CONV_2D": depthwise_conv_2d,
         "TRANSPOSE_CONV": transpose_conv,
         "CUSTOM:Convolution2DTransposeBias": mediapipe_transpose_conv_bias,
         "FULLY_CONNECTED": fully_connected, "BATCH_MATMUL": batch_matmul,
         "MAX_POOL_2D": pool, "AVERAGE_POOL_2D": pool}
