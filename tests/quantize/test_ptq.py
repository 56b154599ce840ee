"""Post-training quantization through TFLiteConverter: full int8 bit-exact with LiteRT's
reference kernels, int8/uint8 I/O, integer-only errors, selective quantization, weights-only
and float16 sizes and accuracy, and bad input."""

import numpy as np
import pytest

from edgeport.errors import QuantizationError
from edgeport.frontends.tflite import read_tflite
from edgeport.lite import Optimize, OpsSet, TFLiteConverter
from tests.oracles.litert import run_edgeport, run_litert
from tests.quantize import models
from tests.quantize.helpers import assert_bit_exact, float_model, quantized

BUILDERS = {"cnn": (models.cnn, (16, 16, 3)), "separable": (models.separable, (16, 16, 3)),
            "mlp": (models.mlp, (20,))}
CACHE = {}


def model(name):
    if name not in CACHE:
        CACHE[name] = BUILDERS[name][0]()
    return CACHE[name]


def data(name, n=64, seed=0):
    return models.dataset(BUILDERS[name][1], n, seed)


def op_types(model_bytes):
    return [op.type for op in read_tflite(model_bytes).ops]


@pytest.mark.parametrize("name", list(BUILDERS))
@pytest.mark.parametrize("granularity", [
    "per_tensor",
    "per_channel_conv",
    "per_channel",
])
def test_int8_bit_exact_with_litert(name, granularity):
    gen, x = data(name)
    q = quantized(model(name), dataset=gen, per_channel=granularity != "per_tensor",
                  _experimental_disable_per_channel_quantization_for_dense_layers=(
                      granularity != "per_channel"))
    types = op_types(q)
    assert types[0] == "QUANTIZE" and types[-1] == "DEQUANTIZE"
    assert types.count("QUANTIZE") + types.count("DEQUANTIZE") <= 4  # boundary + concat
    graph = read_tflite(q)
    for op in graph.ops:
        if op.type in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            w = graph.tensors[op.inputs[1]]
            assert w.dtype == np.int8 and np.all(w.quant.zero_point == 0)
            assert np.abs(w.data).max() <= 127
            assert w.quant.per_axis == (granularity == "per_channel" or (
                granularity == "per_channel_conv" and op.type != "FULLY_CONNECTED"))
            assert graph.tensors[op.inputs[2]].dtype == np.int32
    out = assert_bit_exact(q, [x[:8]])
    want = run_litert(float_model(model(name)), [x[:8]])
    assert np.abs(out[0] - want[0]).max() < 0.05  # close to the float model


@pytest.mark.parametrize("io", [np.int8, np.uint8])
def test_integer_io(io):
    gen, x = data("cnn")
    q = quantized(model("cnn"), dataset=gen, inference_input_type=io, inference_output_type=io,
                  target_spec=_int8_only_spec(),
                  _experimental_disable_per_channel_quantization_for_dense_layers=True)
    graph = read_tflite(q)
    x_in, y_out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    assert x_in.dtype == io and y_out.dtype == io
    assert op_types(q).count("DEQUANTIZE") == 0
    params = x_in.quant
    info = np.iinfo(io)
    xq = np.clip(np.round(x[:4] / params.scale[0]) + params.zero_point[0], info.min,
                 info.max).astype(io)
    y = assert_bit_exact(q, [xq])[0]
    probs = (y.astype(np.float32) - y_out.quant.zero_point[0]) * y_out.quant.scale[0]
    want = run_litert(float_model(model("cnn")), [x[:4]])[0]
    assert np.abs(probs - want).max() < 0.05


def _int8_only_spec():
    from edgeport.lite import TargetSpec

    return TargetSpec(supported_ops={OpsSet.TFLITE_BUILTINS_INT8})


def elu_gelu_model():
    import keras

    from tests.keras.helpers import numpy_initializers

    with numpy_initializers(3):
        inputs = keras.Input((8,))
        h = keras.layers.Dense(16, activation="elu", name="elu_dense")(inputs)
        h = keras.layers.Dense(16, activation="exponential", name="exp_dense")(h)
        h = keras.layers.Dense(12, name="plain")(h)
        out = keras.layers.Dense(4, activation="gelu", name="gelu_dense")(h)
        return keras.Model(inputs, out)


def test_ops_without_int8_kernel_stay_float_between_quantize_and_dequantize():
    m = elu_gelu_model()
    gen, x = models.dataset((8,))
    q = quantized(m, dataset=gen,
                  _experimental_disable_per_channel_quantization_for_dense_layers=True)
    graph = read_tflite(q)
    for op in graph.ops:
        if op.type in ("ELU", "EXP", "GELU"):
            assert graph.tensors[op.inputs[0]].dtype == np.float32
        if op.type == "FULLY_CONNECTED":
            assert graph.tensors[op.outputs[0]].dtype == np.int8
    # LiteRT's reference resolver has no ELU: its default kernels judge (FULLY_CONNECTED's
    # optimized int8 kernel may differ from the reference by one step).
    want = run_litert(q, [x[:5]], reference=False)[0]
    got = run_edgeport(q, [x[:5]])[0]
    assert np.abs(got - want).max() <= 0.02 * np.abs(want).max()


def test_integer_only_lists_every_op_that_cannot_be_quantized():
    gen, _ = models.dataset((8,))
    with pytest.raises(QuantizationError) as info:
        quantized(elu_gelu_model(), dataset=gen, target_spec=_int8_only_spec())
    message = str(info.value)
    assert "ELU (layer 'elu_dense')" in message and "GELU (layer 'gelu_dense')" in message
    assert "EXP (layer 'exp_dense')" in message and "3 op(s)" in message


def test_denylisted_layers_and_op_types_stay_float():
    gen, x = data("cnn")
    q = quantized(model("cnn"), dataset=gen, denylisted_nodes=["dense1"],
                  denylisted_ops=["SOFTMAX"],
                  _experimental_disable_per_channel_quantization_for_dense_layers=True)
    graph = read_tflite(q)
    kinds = {op.type: graph.tensors[op.outputs[0]].dtype for op in graph.ops
             if op.type not in ("QUANTIZE", "DEQUANTIZE")}
    assert kinds["SOFTMAX"] == np.float32 and kinds["CONV_2D"] == np.int8
    dense_dtypes = [graph.tensors[op.outputs[0]].dtype for op in graph.ops
                    if op.type == "FULLY_CONNECTED"]
    assert sorted(map(str, dense_dtypes)) == ["float32", "int8"]
    # the float SOFTMAX at the end: equal up to float rounding
    np.testing.assert_allclose(run_edgeport(q, [x[:4]])[0], run_litert(q, [x[:4]])[0],
                               rtol=1e-5, atol=1e-6)


def big_mlp():
    import keras

    from tests.keras.helpers import numpy_initializers

    with numpy_initializers(4):
        inputs = keras.Input((64,))
        h = keras.layers.Dense(256, activation="relu", name="d1")(inputs)
        h = keras.layers.Dense(256, activation="relu", name="d2")(h)
        out = keras.layers.Dense(10, name="d3")(h)
        return keras.Model(inputs, out)


@pytest.mark.parametrize("mode, ratio, tolerance", [("dynamic", 0.30, 0.02),
                                                    ("float16", 0.55, 0.002)])
@pytest.mark.parametrize("per_channel", [True, False])
def test_weights_only_and_float16_are_smaller_and_close(mode, ratio, tolerance, per_channel):
    m = big_mlp()
    x = np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32)
    f = float_model(m)
    q = quantized(m, mode, per_channel=per_channel)
    assert len(q) < ratio * len(f), (len(q), len(f))
    graph = read_tflite(q)
    stored = [graph.tensors[op.inputs[0]] for op in graph.ops if op.type == "DEQUANTIZE"]
    assert stored and all(t.is_constant for t in stored)
    if mode == "dynamic":
        assert {t.dtype for t in stored} == {np.dtype(np.int8)}
        assert all(t.quant.per_axis == per_channel for t in stored)
        assert all(t.data.size >= 1024 for t in stored)
    else:
        assert {t.dtype for t in stored} == {np.dtype(np.float16)}
    want = run_litert(f, [x])[0]
    scale = np.abs(want).max()
    for got in (run_litert(q, [x])[0], run_litert(q, [x], reference=False)[0],
                run_edgeport(q, [x])[0]):
        assert np.abs(got - want).max() <= tolerance * scale


def test_small_weights_stay_float_in_weights_only_mode():
    q = quantized(model("cnn"), "dynamic")
    graph = read_tflite(q)
    conv1 = next(op for op in graph.ops if op.type == "CONV_2D")
    assert graph.tensors[conv1.inputs[1]].dtype == np.float32  # 8x3x3x3 < 1024 elements


def test_calibration_method_option():
    gen, x = data("separable")
    for method in ("percentile:99.9", "entropy", "mse", "moving_average"):
        q = quantized(model("separable"), dataset=gen, calibration_method=method,
                      _experimental_disable_per_channel_quantization_for_dense_layers=True)
        assert_bit_exact(q, [x[:2]])


def test_nan_weights_are_refused():
    import keras

    inputs = keras.Input((4,))
    layer = keras.layers.Dense(3, name="broken")
    m = keras.Model(inputs, layer(inputs))
    w, b = layer.get_weights()
    w[0, 0] = np.nan
    layer.set_weights([w, b])
    for mode in ("dynamic", "float16", "int8"):
        with pytest.raises(QuantizationError, match="NaN.*broken|broken.*NaN"):
            quantized(m, mode, dataset=models.dataset((4,))[0])


def test_already_quantized_model_is_refused(tmp_path):
    gen, _ = data("mlp")
    path = tmp_path / "int8.tflite"
    path.write_bytes(quantized(model("mlp"), dataset=gen))
    converter = TFLiteConverter.from_tflite(path)
    converter.optimizations = [Optimize.DEFAULT]
    with pytest.raises(QuantizationError, match="already quantized"):
        converter.convert()


@pytest.mark.parametrize("attrs, message", [
    ({"inference_input_type": np.int8}, "representative_dataset"),
    ({"target_spec": "int8_only"}, "TFLITE_BUILTINS_INT8"),
    ({"inference_output_type": np.int16}, "int16 is not supported"),
])
def test_integer_settings_without_data_are_refused(attrs, message):
    converter = TFLiteConverter.from_keras_model(model("mlp"))
    for name, value in attrs.items():
        setattr(converter, name, _int8_only_spec() if value == "int8_only" else value)
    with pytest.raises(QuantizationError, match=message):
        converter.convert()


def test_mobilenet_v2_int8():
    import keras

    from tests.keras.helpers import numpy_initializers

    with numpy_initializers(5):
        m = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None,
                                           classes=10)
    models.realistic_batch_norms(m)
    gen, x = models.dataset((32, 32, 3), n=16)
    q = quantized(m, dataset=gen,
                  _experimental_disable_per_channel_quantization_for_dense_layers=True,
                  target_spec=_int8_only_spec())
    f = float_model(m)
    assert len(q) < 0.4 * len(f)
    y = assert_bit_exact(q, [x[:2]])[0]
    want = run_litert(f, [x[:2]])[0]
    assert np.abs(y - want).max() < 0.1
