"""A multi-op int8 model built by hand (QUANTIZE -> CONV_2D -> DEPTHWISE_CONV_2D -> ADD ->
AVERAGE_POOL_2D -> RESHAPE -> FULLY_CONNECTED -> SOFTMAX -> DEQUANTIZE), and an untrained
MobileNetV2 converted to int8, bit-exact end to end with LiteRT's reference kernels."""

import numpy as np
import pytest

from edgeport.export.tflite import write_tflite
from edgeport.graph import Graph, Op, Tensor
from tests.oracles.litert import run_edgeport, run_litert
from tests.quantmodels import bias_int32, qp, weights_int8

F32 = np.float32


def int8_model(rng) -> Graph:
    g = Graph(name="main")

    def t(name, shape, dtype=np.int8, quant=None, data=None):
        g.add_tensor(Tensor(name, shape, dtype, data, quant=quant))

    s_x, s_c, s_d, s_a, s_f = F32(0.03), F32(0.05), F32(0.04), F32(0.06), F32(0.1)
    t("x", (2, 8, 8, 3), np.float32)
    t("xq", (2, 8, 8, 3), quant=qp(s_x, 4))
    w1, q1 = weights_int8(rng, (8, 3, 3, 3), 0, (0.005, 0.02))
    b1, qb1 = bias_int32(rng, 8, s_x, q1)
    t("w1", w1.shape, quant=q1, data=w1)
    t("b1", b1.shape, np.int32, qb1, b1)
    t("c", (2, 8, 8, 8), quant=qp(s_c, -10))
    w2, q2 = weights_int8(rng, (1, 3, 3, 8), 3, (0.005, 0.02))
    b2, qb2 = bias_int32(rng, 8, s_c, q2)
    t("w2", w2.shape, quant=q2, data=w2)
    t("b2", b2.shape, np.int32, qb2, b2)
    t("d", (2, 8, 8, 8), quant=qp(s_d, 3))
    t("a", (2, 8, 8, 8), quant=qp(s_a, -20))
    t("p", (2, 1, 1, 8), quant=qp(s_a, -20))
    t("shape", (2,), np.int32, None, np.array([2, 8], np.int32))
    t("r", (2, 8), quant=qp(s_a, -20))
    w3, q3 = weights_int8(rng, (5, 8), None, (0.01, 0.03))
    b3, qb3 = bias_int32(rng, 5, s_a, q3)
    t("w3", w3.shape, quant=q3, data=w3)
    t("b3", b3.shape, np.int32, qb3, b3)
    t("f", (2, 5), quant=qp(s_f, 2))
    t("s", (2, 5), quant=qp(F32(1 / 256), -128))
    t("y", (2, 5), np.float32)
    conv = dict(padding="SAME", stride_h=1, stride_w=1, dilation_h_factor=1,
                dilation_w_factor=1)
    g.add_op(Op("QUANTIZE", ["x"], ["xq"]))
    g.add_op(Op("CONV_2D", ["xq", "w1", "b1"], ["c"],
                dict(conv, fused_activation_function="RELU6")))
    g.add_op(Op("DEPTHWISE_CONV_2D", ["c", "w2", "b2"], ["d"],
                dict(conv, depth_multiplier=1, fused_activation_function="RELU")))
    g.add_op(Op("ADD", ["c", "d"], ["a"], {"fused_activation_function": "NONE"}))
    g.add_op(Op("AVERAGE_POOL_2D", ["a"], ["p"], dict(padding="VALID", stride_h=1, stride_w=1,
                                                      filter_height=8, filter_width=8,
                                                      fused_activation_function="NONE")))
    g.add_op(Op("RESHAPE", ["p", "shape"], ["r"], {"new_shape": [2, 8]}))
    g.add_op(Op("FULLY_CONNECTED", ["r", "w3", "b3"], ["f"],
                dict(fused_activation_function="NONE", keep_num_dims=False,
                     weights_format="DEFAULT", asymmetric_quantize_inputs=False)))
    g.add_op(Op("SOFTMAX", ["f"], ["s"], {"beta": 1.0}))
    g.add_op(Op("DEQUANTIZE", ["s"], ["y"]))
    g.inputs, g.outputs = ["x"], ["y", "s"]
    return g


def test_int8_model_is_bit_exact_end_to_end():
    rng = np.random.default_rng(0)
    model = write_tflite(int8_model(rng))
    for seed in range(3):
        x = np.random.default_rng(seed).uniform(-3, 3, (2, 8, 8, 3)).astype(np.float32)
        want = run_litert(model, [x], reference=True, preserve_all_tensors=False)
        got = run_edgeport(model, [x])
        for w, o in zip(want, got):
            assert o.dtype == w.dtype
            np.testing.assert_array_equal(o, w)
        assert len(np.unique(got[1])) > 1  # not a degenerate (saturated) output


def test_hybrid_fully_connected_runs_on_dequantized_weights():
    """Float input, int8 per-channel weights (dynamic-range models): edgeport dequantizes the
    weights once; LiteRT's hybrid kernel quantizes the input row to int8 on the fly, so the
    two agree to the input's quantization error (about 1% of the row's range)."""
    from tests.quantmodels import QConst, QInput, quant_graph

    rng = np.random.default_rng(1)
    w, w_quant = weights_int8(rng, (6, 40), 0)
    graph = quant_graph("FULLY_CONNECTED", [QInput((3, 40), np.float32), QConst(w, w_quant),
                                            QConst(rng.standard_normal(6).astype(F32))],
                        dict(fused_activation_function="NONE", keep_num_dims=False,
                             weights_format="DEFAULT", asymmetric_quantize_inputs=False),
                        [(np.float32, None)])
    x = rng.uniform(-1, 1, (3, 40)).astype(F32)
    model = write_tflite(graph)
    (want,), (got,) = run_litert(model, [x]), run_edgeport(model, [x])
    exact = x @ (w * w_quant.scale[:, None]).T + graph.tensors["in2"].data
    np.testing.assert_allclose(got, exact, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, want, atol=0.02 * np.abs(want).max())


@pytest.mark.filterwarnings("ignore:Warning. Enabling .experimental_preserve_all_tensors.")
def test_mobilenet_v2_near_constant_logits_bit_exact():
    """An untrained MobileNetV2's logits vary by about 1e-11: calibrated, its SOFTMAX input is
    narrower than the 2**-26 scale SOFTMAX's Prepare needs, so the quantizer requantizes it;
    every int8 tensor then equals LiteRT's."""
    import keras
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from edgeport.frontends.tflite import read_tflite
    from edgeport.lite import Interpreter as EdgeportInterpreter
    from edgeport.lite import Optimize, TFLiteConverter

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(alpha=0.35, input_shape=(96, 96, 3), weights=None,
                                           classes=2)
    images = np.random.default_rng(0).uniform(-1, 1, (16, 1, 96, 96, 3)).astype(np.float32)
    converter = TFLiteConverter.from_keras_model(model)
    converter.optimizations = [Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image] for image in images)
    converter.calibration_progress = False
    tflite = converter.convert()
    graph = read_tflite(tflite)
    softmax = next(op for op in graph.ops if op.type == "SOFTMAX")
    requantize = next(op for op in graph.ops if op.outputs == softmax.inputs)
    assert requantize.type == "QUANTIZE"  # the logits' own scale is too small for SOFTMAX
    assert graph.tensors[requantize.inputs[0]].quant.scale[0] * 2.0 ** 26 < 1

    def int8_tensors(interpreter, x):
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return {d["name"]: interpreter.get_tensor(d["index"])
                for d in interpreter.get_tensor_details() if d["dtype"] == np.int8}

    litert = Interpreter(model_content=tflite, num_threads=1,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                         experimental_preserve_all_tensors=True)
    ours = EdgeportInterpreter(model_content=tflite, experimental_preserve_all_tensors=True)
    for x in (images[0], images[5], np.zeros_like(images[0])):
        want, got = int8_tensors(litert, x), int8_tensors(ours, x)
        assert want.keys() == got.keys() and len(want) > 100
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
