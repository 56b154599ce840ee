"""Every integer kernel at the edges of its quantization parameters, against LiteRT's reference
kernels (BUILTIN_REF): tiny (1e-8) and huge (1e4) scales, constant inputs and all-zero
calibration, bit-exact; and where LiteRT's Prepare aborts, refuses, or leaves the arithmetic
undefined (shifts past 31 bits, int32 overflow), a QuantizationError naming the op, with the
last parameters that work beside it. (Issue 10's MobileNetV2, whose near-constant logits
crashed SOFTMAX's Prepare: test_int8_model.py.)"""

import copy
import signal
import subprocess
import sys

import numpy as np
import pytest

from edgeport.errors import QuantizationError
from edgeport.export.tflite import write_tflite
from edgeport.ops import get_op
from edgeport.ops.affine import dequantize
from edgeport.quantize import calibrate, prepare_float, quantize_int8
from edgeport.quantize.observers import quantization_range
from tests.oracles.litert import run_edgeport, run_litert
from tests.quantmodels import (QConst, QInput, assert_bit_exact, bias_int32, qp, quant_graph,
                               random_quantized, weights_int8)

F32 = np.float32
BATCH = 3  # batch rows: random values, a constant (the zero point, or 0.0), the minimum
SHAPE = (BATCH, 4, 4, 6)
CONV = dict(padding="SAME", stride_h=1, stride_w=1, dilation_h_factor=1, dilation_w_factor=1,
            fused_activation_function="RELU6")
POOL = dict(padding="SAME", stride_h=1, stride_w=1, filter_height=2, filter_width=2,
            fused_activation_function="RELU6")


def q(scale, zero=0):
    return qp(F32(scale), zero)


# -- one op whose activations are on scale s (weights on their usual scales) ------------------
def unary(op_type, attrs=None, out=1.0, extra=()):
    """``op_type`` of an int8 input on scale s and ``extra`` constants; the output on
    ``out * s``, on fixed (scale, zero point), or (None) on the input's parameters."""
    def build(s):
        quant = q(s, 5)
        out_q = quant if out is None else q(*out) if isinstance(out, tuple) else q(out * s, -3)
        return quant_graph(op_type, [QInput(SHAPE, np.int8, quant), *extra], attrs,
                           [(np.int8, out_q)])
    return build


def binary(op_type, out=None, attrs=None, shapes=(SHAPE, SHAPE)):
    """``op_type`` of inputs on s and 0.7 s, the output on ``out(s)``; None: all on one grid."""
    def build(s):
        first = q(s, 5)
        second, out_q = (first, first) if out is None else (q(0.7 * s, -2), q(out(s), 1))
        return quant_graph(op_type, [QInput(shapes[0], np.int8, first),
                                     QInput(shapes[1], np.int8, second)], attrs,
                           [(np.int8, out_q)])
    return build


def weighted(op_type, x_shape, w_shape, axis, attrs, out=0.3, transpose=False):
    """A weighted sum: per-channel int8 weights, an int32 bias at s * s_w, output on out * s."""
    def build(s):
        rng = np.random.default_rng(0)
        w, w_quant = weights_int8(rng, w_shape, axis)
        b, b_quant = bias_int32(rng, w_shape[axis], F32(s), w_quant)
        x, w, b = QInput(x_shape, np.int8, q(s, 5)), QConst(w, w_quant), QConst(b, b_quant)
        inputs = ([QConst(np.array([*x_shape[:3], w_shape[0]], np.int32)), w, x, b]
                  if transpose else [x, w, b])
        return quant_graph(op_type, inputs, attrs, [(np.int8, q(out * s, -3))])
    return build


def axes(*values):
    return QConst(np.array(values, np.int32))


BUILDERS = {
    "RELU": unary("RELU"), "RELU6": unary("RELU6"), "RELU_N1_TO_1": unary("RELU_N1_TO_1"),
    "LEAKY_RELU": unary("LEAKY_RELU", {"alpha": 0.2}), "HARD_SWISH": unary("HARD_SWISH"),
    "PRELU": unary("PRELU", extra=[QConst(np.arange(-3, 3).astype(np.int8), q(0.05, 1))]),
    "LOGISTIC": unary("LOGISTIC", out=(1 / 256, -128)),
    "TANH": unary("TANH", out=(1 / 128, 0)),
    "SOFTMAX": unary("SOFTMAX", {"beta": 1.0}, out=(1 / 256, -128)),
    "L2_NORMALIZATION": unary("L2_NORMALIZATION", {"fused_activation_function": "NONE"},
                              out=(1 / 128, 0)),
    "QUANTIZE": unary("QUANTIZE", out=1.7),
    "MAX_POOL_2D": unary("MAX_POOL_2D", POOL, out=None),
    "AVERAGE_POOL_2D": unary("AVERAGE_POOL_2D", POOL, out=None),
    "MEAN": unary("MEAN", {"keep_dims": False}, extra=[axes(1, 2)]),
    "SUM": unary("SUM", {"keep_dims": True}, out=16.0, extra=[axes(1, 2)]),
    "PAD": unary("PAD", out=None, extra=[axes([0, 0], [1, 0], [0, 2], [0, 0])]),
    "RESIZE_BILINEAR": unary("RESIZE_BILINEAR", {"align_corners": False,
                                                 "half_pixel_centers": True},
                             out=None, extra=[axes(7, 5)]),
    "ADD": binary("ADD", lambda s: 1.5 * s, {"fused_activation_function": "RELU6"}),
    "SUB": binary("SUB", lambda s: 1.5 * s, {"fused_activation_function": "NONE"}),
    "MUL": binary("MUL", lambda s: 40 * s * s, {"fused_activation_function": "NONE"}),
    "SQUARED_DIFFERENCE": binary("SQUARED_DIFFERENCE", lambda s: 40 * s * s),
    "CONCATENATION": binary("CONCATENATION", None, {"axis": 3,
                                                    "fused_activation_function": "NONE"}),
    "BATCH_MATMUL": binary("BATCH_MATMUL", lambda s: 5 * s * s,
                           {"adj_x": False, "adj_y": False, "asymmetric_quantize_inputs": False},
                           shapes=((BATCH, 4, 5), (BATCH, 5, 2))),
    "CONV_2D": weighted("CONV_2D", (BATCH, 5, 5, 3), (4, 3, 3, 3), 0, CONV),
    "DEPTHWISE_CONV_2D": weighted("DEPTHWISE_CONV_2D", (BATCH, 5, 5, 4), (1, 3, 3, 4), 3,
                                  dict(CONV, depth_multiplier=1)),
    "FULLY_CONNECTED": weighted("FULLY_CONNECTED", (BATCH, 6), (4, 6), 0, dict(
        fused_activation_function="RELU6", keep_num_dims=False, weights_format="DEFAULT",
        asymmetric_quantize_inputs=False)),
    "TRANSPOSE_CONV": weighted("TRANSPOSE_CONV", (BATCH, 6, 6, 4), (5, 3, 3, 4), 0, dict(
        padding="SAME", stride_h=1, stride_w=1, fused_activation_function="NONE"),
        transpose=True),
}


# Ops whose state or intermediates one quantized op alone cannot hold: their edge cases are
# in their own tests.
EDGES_ELSEWHERE = {"UNIDIRECTIONAL_SEQUENCE_LSTM": "tests/ops/test_integer_lstm.py"}


def test_every_op_with_an_integer_kernel_has_a_case():
    from edgeport.ops.registry import OPS, OpDef

    integer = {name for name, op in OPS.items()
               if type(op).prepare_integer is not OpDef.prepare_integer}
    assert integer - set(BUILDERS) - set(EDGES_ELSEWHERE) == set()


def edge_inputs(graph):
    """Random values over each input's range; batch row 1 all the input's zero point (a
    constant tensor, real 0.0 everywhere), row 2 all its minimum."""
    values = random_quantized(graph)
    for name, x in zip(graph.inputs, values):
        x[1] = graph.tensors[name].quant.zero_point[0]
        x[2] = np.iinfo(x.dtype).min
    return values


def bit_exact(graph, inputs):
    """assert_bit_exact; for int8 SUM, which LiteRT 2.3's BUILTIN_REF reads as uint8 bytes
    (test_int8_reduce.py), edgeport's uint8 twin of the graph must give LiteRT's bytes."""
    if not any(op.type == "SUM" and graph.tensors[op.outputs[0]].dtype == np.int8
               for op in graph.ops):
        return assert_bit_exact(graph, inputs)
    want = run_litert(write_tflite(graph), inputs)
    twin = copy.deepcopy(graph)
    for tensor in twin.tensors.values():
        if tensor.dtype == np.int8:
            tensor.dtype = np.dtype(np.uint8)
    (got,) = run_edgeport(write_tflite(twin), [x.view(np.uint8) for x in inputs])
    np.testing.assert_array_equal(got.view(np.int8), want[0])


def isolated(graph, op_type):
    """The ``op_type`` op of a quantized graph alone, on its own quantized tensors."""
    op = next(op for op in graph.ops if op.type == op_type)
    inputs = [QInput(t.shape, t.dtype, t.quant) if t.data is None else QConst(t.data, t.quant)
              for t in (graph.tensors[name] for name in op.inputs)]
    out = graph.tensors[op.outputs[0]]
    return quant_graph(op_type, inputs, op.attrs, [(out.dtype, out.quant)])


# SOFTMAX at 1e-8 is below what its Prepare takes: test_softmax_scale_limit.
@pytest.mark.parametrize("op_type,scale", [(op, s) for op in sorted(BUILDERS)
                                           for s in (1e-8, 1e4) if (op, s) != ("SOFTMAX", 1e-8)])
def test_tiny_and_huge_scales_are_bit_exact(op_type, scale):
    graph = BUILDERS[op_type](scale)
    bit_exact(graph, edge_inputs(graph))


# -- all-zero calibration, through the int8 quantizer -------------------------------------------
def float_twin(graph):
    """``graph`` in float32: quantized constants (weights, biases, alphas) dequantized,
    quantized tensors float32 without parameters; shape and axis constants kept."""
    for tensor in graph.tensors.values():
        if tensor.quant is not None:
            if tensor.data is not None:
                tensor.data = dequantize(tensor.data, tensor.quant)
            tensor.dtype, tensor.quant = np.dtype(np.float32), None
    return graph


@pytest.mark.parametrize("op_type", sorted(set(BUILDERS) - {"QUANTIZE"}))
def test_all_zero_calibration_is_bit_exact(op_type):
    graph = prepare_float(float_twin(BUILDERS[op_type](0.05)))
    zeros = [np.zeros(graph.tensors[n].shape, np.float32) for n in graph.inputs]
    ranges = calibrate(graph, lambda: [zeros], progress=False)
    quantize_int8(graph, ranges)
    near_zero = np.float32(2e-6 / 255)  # TFLite's kNearZeroTolerance range, +-1e-6
    entries = [op for op in graph.ops if op.type == "QUANTIZE" and op.inputs[0] in graph.inputs]
    assert len(entries) == len(graph.inputs)
    for op in entries:
        assert ranges[op.inputs[0]] == (0.0, 0.0)
        assert graph.tensors[op.outputs[0]].quant.scale[0] == near_zero
    if op_type == "SUM":  # LiteRT runs int8 SUM right only alone (bit_exact)
        graph = isolated(graph, "SUM")
        return bit_exact(graph, edge_inputs(graph))
    rng = np.random.default_rng(1)
    inputs = [np.stack([rng.uniform(-3, 3, z.shape[1:]), z[0], np.full(z.shape[1:], 1e-6)])
              .astype(np.float32) for z in zeros]
    bit_exact(graph, inputs)


def test_quantization_range_widens_narrow_ranges_as_tflite():
    assert quantization_range(0.0, 0.0) == (-1e-6, 1e-6)
    assert quantization_range(2e-12, 6e-11) == (-1e-6, 6e-11 + 1e-6)  # widened to hold 0
    assert quantization_range(-0.25, 3.0) == (-0.25, 3.0)
    assert quantization_range(0.5, 0.7) == (0.0, 0.7)


# -- where LiteRT aborts, refuses, or computes garbage: refused, next to what still works -------
def litert_aborts(model: bytes, tmp_path) -> bool:
    """Whether preparing ``model`` in LiteRT (BUILTIN_REF) aborts the process (a failed
    TFLITE_CHECK), in a child process."""
    path = tmp_path / "model.tflite"
    path.write_bytes(model)
    code = ("import sys; from ai_edge_litert.interpreter import Interpreter, OpResolverType; "
            "Interpreter(model_content=open(sys.argv[1], 'rb').read(), "
            "experimental_op_resolver_type=OpResolverType.BUILTIN_REF).allocate_tensors()")
    child = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True)
    return child.returncode == -signal.SIGABRT


def set_scale(graph, name, scale):
    """``graph`` with tensor ``name`` on ``scale`` (after shape inference, which prepares
    every kernel: parameters edgeport refuses can only be set afterwards)."""
    graph.tensors[name].quant = q(scale, int(graph.tensors[name].quant.zero_point[0]))
    return graph


def assert_refused(graph, problem: str):
    """edgeport refuses to run ``graph`` (MEAN only knows its shift once it sees the shape)
    with a QuantizationError naming the op and ``problem``."""
    op = next(op for op in graph.ops if op.type in BUILDERS)
    with pytest.raises(QuantizationError, match=rf"^{op.type} \(out0\): .*{problem}"):
        run_edgeport(write_tflite(graph), edge_inputs(graph))


def test_softmax_scale_limit(tmp_path):
    """PreprocessSoftmaxScaling aborts LiteRT unless beta * s_in > 2**-26."""
    build = BUILDERS["SOFTMAX"]
    lowest = get_op("SOFTMAX").min_input_scale(build(0.1).ops[0])
    assert np.float32(lowest) == lowest and lowest * 2.0 ** 26 > 1
    graph = build(lowest)
    bit_exact(graph, edge_inputs(graph))
    below = set_scale(graph, "in0", np.nextafter(F32(lowest), F32(0)))
    assert litert_aborts(write_tflite(below), tmp_path)
    assert_refused(below, r"not above 2\*\*-26")


@pytest.mark.parametrize("op_type,limit", [("ADD", 2 / 2 ** 20), ("SUB", 2 / 2 ** 20),
                                           ("SQUARED_DIFFERENCE", 4 / 2 ** 14)])
def test_output_multiplier_below_one(op_type, limit, tmp_path):
    """ADD, SUB and SQUARED_DIFFERENCE need an output multiplier below 1 (ADD and
    SQUARED_DIFFERENCE abort LiteRT above; SUB shifts right by a negative amount)."""
    s = 0.01
    power = 2 if op_type == "SQUARED_DIFFERENCE" else 1
    graph = set_scale(BUILDERS[op_type](s), "out0", limit * s ** power / 0.99)
    bit_exact(graph, edge_inputs(graph))
    beyond = set_scale(graph, "out0", limit * s ** power / 1.01)
    if op_type != "SUB":
        assert litert_aborts(write_tflite(beyond), tmp_path)
    assert_refused(beyond, "output multiplier .* is not below 1")


@pytest.mark.parametrize("op_type,ratio", [("ADD", 1.5), ("CONV_2D", 0.3),
                                           ("AVERAGE_POOL_2D", 1.0), ("RELU6", 1.0)])
def test_relu6_bound_within_int32(op_type, ratio):
    """RELU6's bound 6.0 in output steps must fit int32 (an output scale above 6 / 2**31 =
    2.8e-9): LiteRT refuses a fused RELU6 past it and computes garbage for the others."""
    graph = BUILDERS[op_type](3e-9 / ratio)
    bit_exact(graph, edge_inputs(graph))
    beyond = set_scale(graph, "out0", 2.7e-9)
    if op_type in ("ADD", "CONV_2D"):
        with pytest.raises(RuntimeError, match="no_integer_overflow_from_quantization"):
            run_litert(write_tflite(beyond), edge_inputs(beyond))
    assert_refused(beyond, "its RELU6 bound 6 is .* past int32")


# A real rescale of 2**31 or more needs a left shift above 31: refused. (op, the scales of
# in0 and out0 that make its largest multiplier 0.99 * 2**31, the tensor and scale past it)
TOP = 0.99 * 2 ** 31
RESCALES = [("RELU", (1.0, 1 / TOP), ("out0", 0.97 / TOP)),
            ("LEAKY_RELU", (1.0, 1 / TOP), ("out0", 0.97 / TOP)),
            ("PRELU", (1.0, 1 / TOP), ("out0", 0.97 / TOP)),
            ("QUANTIZE", (1.0, 1 / TOP), ("out0", 0.97 / TOP)),
            ("SUM", (1.0, 1 / TOP), ("out0", 0.97 / TOP)),
            ("MUL", (1.0, 0.7 / TOP), ("out0", 0.97 * 0.7 / TOP)),  # in1 on 0.7
            ("BATCH_MATMUL", (1.0, 0.7 / TOP), ("out0", 0.97 * 0.7 / TOP)),
            ("MEAN", (1.0, 1 / 16 / TOP), ("out0", 0.97 / 16 / TOP)),  # 1/16 folded in
            ("HARD_SWISH", (TOP * 384 / 32768, 1.0e6), ("in0", TOP * 384 / 32768 / 0.97))]


@pytest.mark.parametrize("op_type,scales,beyond", RESCALES)
def test_rescale_below_two_to_the_31(op_type, scales, beyond):
    graph = set_scale(BUILDERS[op_type](scales[0]), "out0", scales[1])
    bit_exact(graph, edge_inputs(graph))
    assert_refused(set_scale(graph, *beyond), r"(multiplier|2\*\*3[2-9]).* beyond TFLite's")


@pytest.mark.parametrize("op_type", ["CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV"])
def test_weighted_sum_rescale_below_two_to_the_31(op_type):
    graph = BUILDERS[op_type](1e4)
    largest = float(1e4 * graph.tensors["in1"].quant.scale.max())  # in1: the weights
    bit_exact(set_scale(graph, "out0", largest * 2 ** -31 / 0.99), edge_inputs(graph))
    assert_refused(set_scale(graph, "out0", largest * 2 ** -31 / 1.01),
                   "output multiplier .* beyond TFLite's int32")


def near_zero_points(graph, seed=0):
    """Inputs within one step of their zero points: accumulators small enough to stay in
    int32 when rescaled by up to about 5e5 (LiteRT's int8 FULLY_CONNECTED casts its rescaled
    double to int32, which x86 leaves at INT32_MIN past the range; edgeport saturates)."""
    rng = np.random.default_rng(seed)
    return [(graph.tensors[n].quant.zero_point[0] + rng.integers(-1, 2, graph.tensors[n].shape))
            .astype(np.int8) for n in graph.inputs]


def test_fully_connected_rescale_limits():
    """Per tensor, LiteRT's Prepare checks the bias scale against s_in * s_w in double
    (GetQuantizedConvolutionMultipler: within 2% of the output scale), which the float32
    product of a bias misses once s_in * s_w / s_out is about 3e5. Per channel, a rescale of
    2**31 or more is refused as for the other weighted sums."""
    rng = np.random.default_rng(2)
    w, w_quant = weights_int8(rng, (4, 6), None)
    b, b_quant = bias_int32(rng, 4, F32(1e4), w_quant, spread=200)
    gap = abs(1e4 * float(w_quant.scale[0]) - float(b_quant.scale[0]))  # as LiteRT measures
    assert gap > 0
    attrs = dict(fused_activation_function="NONE", keep_num_dims=False,
                 weights_format="DEFAULT", asymmetric_quantize_inputs=False)
    graph = quant_graph("FULLY_CONNECTED", [QInput((BATCH, 6), np.int8, q(1e4, 5)),
                                            QConst(w, w_quant), QConst(b, b_quant)],
                        attrs, [(np.int8, q(gap / 0.019, 1))])
    bit_exact(graph, near_zero_points(graph))
    beyond = set_scale(graph, "out0", gap / 0.021)
    with pytest.raises(RuntimeError, match="scale_diff / output_scale <= 0.02"):
        run_litert(write_tflite(beyond), near_zero_points(beyond))
    assert_refused(beyond, "bias scale .* which LiteRT's Prepare refuses")
    per_channel = BUILDERS["FULLY_CONNECTED"](1e4)
    largest = float(1e4 * per_channel.tensors["in1"].quant.scale.max())
    assert_refused(set_scale(per_channel, "out0", largest * 2 ** -31 / 1.01),
                   "output multiplier .* beyond TFLite's int32")


def test_hard_swish_output_multiplier_above_one_is_refused():
    graph = set_scale(BUILDERS["HARD_SWISH"](1.0), "out0", 1 / 128 / 1.01)
    with pytest.raises(RuntimeError, match="output_multiplier_exponent <= 0"):
        run_litert(write_tflite(graph), edge_inputs(graph))
    assert_refused(graph, "output multiplier .* exceeds 1")
