"""Keras LSTM and SimpleRNN through edgeport: each option against Keras' predictions, in LiteRT's
reference kernels and in edgeport (NumPy and jax), at batch 1 and 4 from one .tflite, and
stateless across invokes as the Keras layer is."""

import keras
import numpy as np
import pytest

from edgeport.errors import UnsupportedLayerError
from edgeport.lite import Interpreter
from edgeport.lite.converter import TFLiteConverter
from tests.keras.helpers import (assert_close, assert_full_int8, convert_all, keras_outputs,
                                 numpy_initializers)
from tests.oracles.litert import run_edgeport, run_edgeport_jax, run_litert

TIME, FEATURES = 6, 3


def sequence_model(layer, n_states=0, units=5):
    """``layer`` over a [batch, TIME, FEATURES] input, with ``n_states`` initial-state
    inputs of ``units`` when given."""
    with numpy_initializers(seed=3):
        x = keras.Input((TIME, FEATURES))
        states = [keras.Input((units,)) for _ in range(n_states)]
        y = layer(x, initial_state=states) if states else layer(x)
        return keras.Model([x, *states], y)


def assert_matches_keras(model, tmp_path, formats=("live",), lengths=(None,)):
    """At batch 1 and 4 (one .tflite, resized) and at each of ``lengths`` where the
    sequence length is open, LiteRT, edgeport on NumPy and on jax all give Keras'
    predictions."""
    rng = np.random.default_rng(0)
    for fmt, tflite in convert_all(model, tmp_path, formats).items():
        for batch, length in ((b, n) for b in (1, 4) for n in lengths):
            inputs = [_input(rng, (batch, *[length if d is None else d for d in shape[1:]]),
                             dtype)
                      for shape, dtype in ((tuple(i.shape), i.dtype) for i in model.inputs)]
            want = keras_outputs(model, inputs)
            runs = {"litert": run_litert(tflite, inputs), "edgeport": run_edgeport(tflite, inputs),
                    "jax": run_edgeport_jax(tflite, inputs)[0]}
            for name, got in runs.items():
                assert len(got) == len(want), (fmt, name)
                for g, w in zip(got, want):
                    assert_close(g, w)


def _input(rng, shape, dtype):
    if "int" in str(dtype):
        return rng.integers(0, 20, shape).astype(np.int32)
    return rng.normal(size=shape).astype(np.float32)


LSTM_OPTIONS = [
    {}, {"return_sequences": True}, {"go_backwards": True},
    {"go_backwards": True, "return_sequences": True}, {"activation": "relu"},
    {"use_bias": False}, {"return_state": True}, {"return_state": True, "return_sequences": True},
    # what the fused op cannot compute is unrolled, as GRU
    {"recurrent_activation": "hard_sigmoid", "return_sequences": True, "go_backwards": True},
    {"activation": "linear", "return_state": True},
]


@pytest.mark.parametrize("options", LSTM_OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_lstm_options(options, tmp_path):
    assert_matches_keras(sequence_model(keras.layers.LSTM(5, **options)), tmp_path)


@pytest.mark.parametrize("options", [{}, {"return_sequences": True, "go_backwards": True},
                                     {"activation": "relu", "return_state": True}],
                         ids=lambda o: ",".join(o) or "default")
def test_simple_rnn_options(options, tmp_path):
    assert_matches_keras(sequence_model(keras.layers.SimpleRNN(5, **options)), tmp_path)


@pytest.mark.parametrize("layer, n_states, options", [
    ("LSTM", 2, {}), ("SimpleRNN", 1, {}), ("LSTM", 2, {"recurrent_activation": "hard_sigmoid"})])
def test_initial_states_given_as_inputs(layer, n_states, options, tmp_path):
    model = sequence_model(getattr(keras.layers, layer)(5, **options), n_states)
    assert_matches_keras(model, tmp_path)


def test_stacked_layers_from_every_file_format(tmp_path):
    with numpy_initializers(seed=4):
        model = keras.Sequential([keras.Input((TIME, FEATURES)),
                                  keras.layers.LSTM(8, return_sequences=True),
                                  keras.layers.SimpleRNN(6, return_sequences=True),
                                  keras.layers.LSTM(4), keras.layers.Dense(2)])
    assert_matches_keras(model, tmp_path, formats=("live", "keras", "h5"))


def test_the_model_is_stateless_across_invokes_in_litert(tmp_path):
    """The fused op keeps its state in variable tensors, which LiteRT carries over; the IF
    around it starts every invoke from zeros, as Keras does."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT

    model = sequence_model(keras.layers.LSTM(5))
    tflite = TFLiteConverter.from_keras_model(model).convert()
    x = np.random.default_rng(1).normal(size=(2, TIME, FEATURES)).astype(np.float32)
    want = keras_outputs(model, [x])[0]
    for interpreter in (LiteRT(model_content=tflite), Interpreter(model_content=tflite)):
        index = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(index, x.shape)
        interpreter.allocate_tensors()
        for _ in range(3):
            interpreter.set_tensor(index, x)
            interpreter.invoke()
            assert_close(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]),
                         want)


def test_the_file_holds_the_fused_op_in_a_subgraph(tmp_path):
    from edgeport.frontends.tflite import read_tflite

    tflite = TFLiteConverter.from_keras_model(sequence_model(keras.layers.LSTM(5))).convert()
    graph = read_tflite(tflite)
    assert [op.type for op in graph.subgraphs[0].ops] == ["UNIDIRECTIONAL_SEQUENCE_LSTM"]
    assert "IF" in [op.type for op in graph.ops]
    states = [graph.subgraphs[0].tensors[n] for n in graph.subgraphs[0].inputs[1:]]
    assert all(t.is_variable and t.data is None for t in states)


@pytest.mark.parametrize("make_layer, message", [
    # layers are made in the test: a Keras layer made at collection would start jax's runtime
    (lambda: keras.layers.LSTM(4, stateful=True), "stateful=True"),
    (lambda: keras.layers.SimpleRNN(4, activation="sigmoid"), "activation 'sigmoid'"),
    (lambda: keras.layers.LSTM(4, activation="mish"), "activation 'mish'"),
])
def test_options_the_fused_ops_cannot_express_are_refused(make_layer, message, tmp_path):
    layer = make_layer()
    batch = 1 if layer.stateful else None
    x = keras.Input((TIME, FEATURES), batch_size=batch)
    model = keras.Model(x, layer(x))
    path = tmp_path / "model.keras"
    model.save(path)
    out = tmp_path / "model.tflite"
    with pytest.raises(UnsupportedLayerError, match=message) as error:
        TFLiteConverter.from_keras_file(path).convert()
    assert layer.name in str(error.value) and not out.exists()


def test_an_open_sequence_length_stays_open(tmp_path):
    """Input((None, features)): the .tflite takes any length, at any batch."""
    from edgeport.frontends.tflite import read_tflite

    with numpy_initializers(seed=5):
        x = keras.Input((None, FEATURES))
        y = keras.layers.LSTM(6, return_sequences=True, go_backwards=True)(x)
        model = keras.Model(x, keras.layers.Dense(2)(keras.layers.SimpleRNN(4)(y)))
    assert_matches_keras(model, tmp_path, formats=("live", "keras"), lengths=(3, 11))
    graph = read_tflite(TFLiteConverter.from_keras_model(model).convert())
    assert graph.tensors[graph.inputs[0]].shape == (-1, -1, FEATURES)
    body = graph.subgraphs[0]
    assert body.tensors[body.inputs[0]].shape == (-1, -1, FEATURES)


def test_a_text_classifier_with_open_length(tmp_path):
    with numpy_initializers(seed=6):
        tokens = keras.Input((None,), dtype="int32")
        h = keras.layers.LSTM(8)(keras.layers.Embedding(20, 6)(tokens))
        model = keras.Model(tokens, keras.layers.Dense(3, activation="softmax")(h))
    assert_matches_keras(model, tmp_path, lengths=(4, 9))


def test_an_audio_model_with_open_length(tmp_path):
    """Conv1D and MaxPooling1D work on EXPAND_DIMS / SQUEEZE, which hold no length."""
    with numpy_initializers(seed=10):
        x = keras.Input((None, FEATURES))
        h = keras.layers.MaxPooling1D(2)(keras.layers.Conv1D(4, 3, padding="same",
                                                             activation="relu")(x))
        h = keras.layers.LSTM(5, return_sequences=True)(h)
        model = keras.Model(x, keras.layers.GlobalAveragePooling1D()(h))
    assert_matches_keras(model, tmp_path, lengths=(6, 10))


def test_a_conversion_that_depends_on_the_open_length_is_refused():
    x = keras.Input((None, FEATURES))
    model = keras.Model(x, keras.layers.Flatten(name="flat")(keras.layers.Dense(2)(x)))
    with pytest.raises(UnsupportedLayerError, match=r"RESHAPE \(flat\) does not follow the "
                                                    "open sequence length"):
        TFLiteConverter.from_keras_model(model).convert()


GRU_OPTIONS = [
    {}, {"return_sequences": True}, {"reset_after": False}, {"use_bias": False},
    {"go_backwards": True, "return_sequences": True}, {"return_state": True},
    {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
]


@pytest.mark.parametrize("options", GRU_OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_gru_options(options, tmp_path):
    assert_matches_keras(sequence_model(keras.layers.GRU(5, **options)), tmp_path)


def test_gru_in_full_int8_is_bit_exact_and_close_to_keras():
    """Unrolled, GRU is ops the int8 quantizer covers: at least 20 dB SQNR against Keras
    (the issue's bar), bit-exact between LiteRT's reference kernels and edgeport."""
    with numpy_initializers(seed=8):
        x = keras.Input((10, 4))
        model = keras.Model(x, keras.layers.Dense(3)(keras.layers.GRU(16)(x)))
    assert_full_int8(model, np.random.default_rng(8).normal(size=(64, 10, 4)).astype(np.float32))


def _int8_lstm_converter(model, data, integer_only=False):
    from edgeport.lite import OpsSet, Optimize

    converter = TFLiteConverter.from_keras_model(model)
    converter.optimizations = [Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([data[i:i + 1]] for i in range(32))
    if integer_only:
        converter.target_spec.supported_ops = [OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = np.int8
    return converter


def _integer_lstms(tflite):
    """The fused LSTMs of a .tflite whose input is int8 (the integer kernel's)."""
    from edgeport.frontends.tflite import read_tflite

    graph = read_tflite(tflite)
    return [(body, op) for body in graph.subgraphs for op in body.ops
            if op.type == "UNIDIRECTIONAL_SEQUENCE_LSTM"
            and body.tensors[op.inputs[0]].dtype == np.int8]


def test_lstm_in_full_int8_is_the_integer_lstm_bit_exact_and_close_to_keras():
    """Full int8 makes each LSTM LiteRT's integer LSTM (int8 in and out, an int16 cell state
    on a power-of-two scale from calibration): at least 20 dB SQNR against Keras, bit-exact
    between LiteRT's reference kernels and edgeport on NumPy and jax, integer-only too."""
    with numpy_initializers(seed=9):
        x = keras.Input((12, 4))
        h = keras.layers.LSTM(16, return_sequences=True)(x)
        model = keras.Model(x, keras.layers.Dense(3)(keras.layers.LSTM(8)(h)))
    data = np.random.default_rng(9).normal(size=(64, 12, 4)).astype(np.float32)
    assert_full_int8(model, data)
    tflite = _int8_lstm_converter(model, data, integer_only=True).convert()
    lstms = _integer_lstms(tflite)
    assert len(lstms) == 2
    for body, op in lstms:
        cell = body.tensors[op.inputs[19]]
        assert cell.dtype == np.int16 and np.log2(cell.quant.scale[0]) in range(-15, -8)
        assert len(op.intermediates) == 5
    q = np.random.default_rng(1).integers(-128, 128, (4, 12, 4)).astype(np.int8)
    [want] = run_litert(tflite, [q])
    np.testing.assert_array_equal(run_edgeport(tflite, [q])[0], want)
    np.testing.assert_array_equal(run_edgeport_jax(tflite, [q])[0][0], want)


def test_the_integer_lstm_keeps_an_open_length_and_bidirectional_lstm_converts():
    with numpy_initializers(seed=10):
        x = keras.Input((None, 4))
        h = keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True))(x)
        model = keras.Model(x, keras.layers.Dense(2)(keras.layers.LSTM(6)(h)))
    data = np.random.default_rng(10).normal(size=(32, 9, 4)).astype(np.float32)
    tflite = _int8_lstm_converter(model, data).convert()
    assert len(_integer_lstms(tflite)) == 3
    for length in (5, 14):
        x = np.random.default_rng(length).normal(size=(3, length, 4)).astype(np.float32)
        [litert] = run_litert(tflite, [x])
        np.testing.assert_array_equal(run_edgeport(tflite, [x])[0], litert)
        want = keras_outputs(model, [x])[0]
        assert 10 * np.log10(np.sum(want ** 2) / np.sum((litert - want) ** 2)) >= 20


def test_an_lstm_the_integer_kernel_cannot_run_stays_float_in_int8():
    """return_state (the final states leave the subgraph) keeps the call float, with its
    reason in integer-only mode."""
    from edgeport.errors import QuantizationError

    with numpy_initializers(seed=11):
        x = keras.Input((TIME, FEATURES))
        y, h, c = keras.layers.LSTM(5, return_state=True)(x)
        model = keras.Model(x, keras.layers.Concatenate()([y, h, c]))
    data = np.random.default_rng(11).normal(size=(32, TIME, FEATURES)).astype(np.float32)
    tflite = _int8_lstm_converter(model, data).convert()
    assert _integer_lstms(tflite) == []
    assert_close(run_litert(tflite, [data[:4]])[0], keras_outputs(model, [data[:4]])[0], 0.05)
    with pytest.raises(QuantizationError, match="return_state"):
        _int8_lstm_converter(model, data, integer_only=True).convert()


def test_gru_initial_state_and_file_formats(tmp_path):
    assert_matches_keras(sequence_model(keras.layers.GRU(5), n_states=1), tmp_path,
                         formats=("live", "keras", "h5"))


def test_gru_is_unrolled_into_ops_of_each_step():
    """Each step splits its input projection and its state's (the first step's state is
    zero: its projection is the recurrent bias, a constant)."""
    from edgeport.frontends.tflite import read_tflite

    graph = read_tflite(TFLiteConverter.from_keras_model(
        sequence_model(keras.layers.GRU(5))).convert())
    types = [op.type for op in graph.ops]
    assert "UNPACK" in types and not graph.subgraphs
    assert types.count("SPLIT") == 2 * TIME - 1 and types.count("FULLY_CONNECTED") == TIME


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes(merge_mode, tmp_path):
    layer = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True),
                                       merge_mode=merge_mode)
    assert_matches_keras(sequence_model(layer), tmp_path)


@pytest.mark.parametrize("make_layer", [
    lambda: keras.layers.Bidirectional(keras.layers.GRU(4), merge_mode="concat"),
    lambda: keras.layers.Bidirectional(keras.layers.LSTM(4, return_state=True)),
    lambda: keras.layers.Bidirectional(
        keras.layers.SimpleRNN(4), backward_layer=keras.layers.SimpleRNN(
            3, go_backwards=True, activation="relu")),
], ids=["gru", "return_state", "backward_layer"])
def test_bidirectional_layers(make_layer, tmp_path):
    assert_matches_keras(sequence_model(make_layer()), tmp_path, formats=("live", "keras", "h5"))


def test_time_distributed_layers(tmp_path):
    with numpy_initializers(seed=7):
        frames = keras.Input((4, 8, 8, 3))
        x = keras.layers.TimeDistributed(keras.layers.Conv2D(2, 3, activation="relu"))(frames)
        x = keras.layers.TimeDistributed(keras.layers.Flatten())(x)
        x = keras.layers.LSTM(3, return_sequences=True)(x)
        model = keras.Model(frames, keras.layers.TimeDistributed(keras.layers.Dense(2))(x))
    assert_matches_keras(model, tmp_path, formats=("live", "keras", "h5"))


@pytest.mark.parametrize("make_layer", [
    lambda: keras.layers.RNN(keras.layers.LSTMCell(4), return_sequences=True, go_backwards=True),
    lambda: keras.layers.RNN(keras.layers.GRUCell(4, reset_after=False), return_state=True),
    lambda: keras.layers.RNN(keras.layers.SimpleRNNCell(4, activation="relu")),
    lambda: keras.layers.Bidirectional(keras.layers.RNN(keras.layers.LSTMCell(3))),
], ids=["lstm_cell", "gru_cell", "simple_rnn_cell", "bidirectional"])
def test_rnn_of_a_cell_is_its_layer(make_layer, tmp_path):
    assert_matches_keras(sequence_model(make_layer()), tmp_path, formats=("live", "keras", "h5"))


def test_rnn_of_stacked_cells_is_refused_with_what_to_do(tmp_path):
    cells = [keras.layers.LSTMCell(4), keras.layers.LSTMCell(3)]
    model = sequence_model(keras.layers.RNN(cells))
    with pytest.raises(UnsupportedLayerError, match="StackedRNNCells.*stack RNN layers"):
        TFLiteConverter.from_keras_model(model).convert()


@pytest.mark.parametrize("make_layer, message", [
    (lambda: keras.layers.Bidirectional(keras.layers.LSTM(4, dropout=0.1)), None),
    (lambda: keras.layers.TimeDistributed(keras.layers.GroupNormalization(1)),
     "wraps a GroupNormalization, which edgeport cannot convert"),
], ids=["dropout-is-fine", "unsupported-inner"])
def test_wrappers_refuse_what_their_layer_refuses(make_layer, message, tmp_path):
    model = sequence_model(make_layer())
    if message is None:
        assert_matches_keras(model, tmp_path)
        return
    with pytest.raises(UnsupportedLayerError, match=message):
        TFLiteConverter.from_keras_model(model).convert()


def test_gru_with_an_open_length_is_refused():
    x = keras.Input((None, FEATURES))
    model = keras.Model(x, keras.layers.GRU(3, name="gru")(x))
    with pytest.raises(UnsupportedLayerError, match=r"does not convert for a sequence length of "
                                                    r"128 \(.*UNPACK \(gru\)"):
        TFLiteConverter.from_keras_model(model).convert()


@pytest.mark.parametrize("layer, version", [("LSTM", 2), ("SimpleRNN", 2)])
def test_weights_only_int8_makes_hybrid_recurrent_ops(layer, version):
    """Optimize.DEFAULT without data: the fused op reads int8 gate weights (TFLite's hybrid
    kernel, version 2), as the official converter makes it; LiteRT quantizes the input on
    the fly, edgeport computes with the stored weights exactly, both close to Keras."""
    from edgeport.frontends.tflite import read_tflite
    from edgeport.lite import Optimize
    from edgeport.ops import get_op

    with numpy_initializers(seed=9):
        x = keras.Input((None, 8))
        model = keras.Model(x, keras.layers.Dense(3)(getattr(keras.layers, layer)(64)(x)))
    converter = TFLiteConverter.from_keras_model(model)
    converter.optimizations = [Optimize.DEFAULT]
    tflite = converter.convert()
    body = read_tflite(tflite).subgraphs[0]
    op = body.ops[0]
    assert body.tensors[op.inputs[1]].dtype == np.int8
    assert get_op(op.type).version(op, body) == version
    data = np.random.default_rng(9).normal(size=(16, 12, 8)).astype(np.float32)
    want = keras_outputs(model, [data])[0]
    for got in (run_litert(tflite, [data])[0], run_edgeport(tflite, [data])[0]):
        sqnr = 10 * np.log10(np.sum(want ** 2) / np.sum((got - want) ** 2))
        assert sqnr >= 30, sqnr


def test_float16_reaches_the_recurrent_subgraph():
    """supported_types=[float16]: the fused op's weights are float16 behind DEQUANTIZE in
    its subgraph too, and LiteRT and edgeport stay close to Keras."""
    from edgeport.frontends.tflite import read_tflite
    from edgeport.lite import Optimize

    model = sequence_model(keras.layers.LSTM(5))
    converter = TFLiteConverter.from_keras_model(model)
    converter.optimizations = [Optimize.DEFAULT]
    converter.target_spec.supported_types = [np.float16]
    tflite = converter.convert()
    body = read_tflite(tflite).subgraphs[0]
    assert "DEQUANTIZE" in [op.type for op in body.ops]
    assert all(t.dtype != np.float32 for t in body.tensors.values() if t.data is not None
               and t.data.ndim == 2)
    data = np.random.default_rng(14).normal(size=(4, TIME, FEATURES)).astype(np.float32)
    want = keras_outputs(model, [data])[0]
    for got in (run_litert(tflite, [data])[0], run_edgeport(tflite, [data])[0]):
        assert_close(got, want, tolerance=2e-3)
