"""Layers-model coverage: every layer (and option) of the Keras issue exports with
``export_web(format="auto")``. Where TF.js has the layer, the bundle is a layers model that
``tf.loadLayersModel`` + ``predict`` runs to Keras's predictions; where it lacks the layer (or the
option, or computes something else under the same name), the bundle is a graph model that
matches Keras just as well, and ``format="layers"`` raises UnsupportedLayerError naming the
layer (name and class). Options that neither TF.js nor edgeport's Keras frontend take (ERROR:
outside the Keras issue's list) must fail with an UnsupportedLayerError naming the layer.

One tiny model per case, all run in a single Node process (Node start-up and tfjs import
dominate otherwise). The layer under test is named ``probe`` so that the error can be checked.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from edgeport.errors import UnsupportedLayerError
from edgeport.export.tfjs import export_web
from edgeport.export.tfjs.serve import serve_in_thread
from tests.tfjs.helpers import JS_DIR, _decode, _encode, assert_close, require_node

L = keras.layers
LAYERS, GRAPH = "layers-model", "graph-model"
ERROR = "error"  # neither TF.js nor edgeport's Keras frontend takes it: a named error
PROBE = "probe"


# -- model builders ---------------------------------------------------------------------------
def single(make, shape):
    """Input(shape) -> the layer under test."""
    x = keras.Input(shape)
    return keras.Model(x, make(name=PROBE)(x))


def merge(cls, shapes=((4,), (4,)), **kwargs):
    inputs = [keras.Input(s) for s in shapes]
    return keras.Model(inputs, getattr(L, cls)(name=PROBE, **kwargs)(inputs))


def activation(name):
    return lambda: single(lambda **k: L.Activation(name, **k), (3, 7))


def attend(call, query_shape, value_shape):
    """An attention layer (named probe) called on a query and a value input."""
    query, value = keras.Input(query_shape), keras.Input(value_shape)
    return keras.Model([query, value], call(query, value, name=PROBE))


def between_dense(make):
    """Dense -> the layer under test -> Dense (for layers that do nothing at inference)."""
    x = keras.Input((3, 6))
    return keras.Model(x, L.Dense(4)(make(name=PROBE)(L.Dense(5)(x))))


def sequential():
    return keras.Sequential([keras.Input((6,)), L.Dense(8, activation="relu", name=PROBE),
                             L.Dropout(0.2), L.Dense(3, activation="softmax")])


def sequential_built():
    """A Sequential without an Input, built from a shape."""
    model = keras.Sequential([L.Dense(5, activation="tanh", name=PROBE), L.Dense(2)])
    model.build((None, 6))
    return model


def functional_multi_io_shared():
    a, b = keras.Input((6,), name="a"), keras.Input((6,), name="b")
    shared = L.Dense(5, activation="tanh", name=PROBE)
    ha, hb = shared(a), shared(b)
    return keras.Model([a, b], [L.Add()([ha, hb]), L.Dense(2)(L.Concatenate()([ha, hb]))])


def nested():
    inner = keras.Sequential([keras.Input((6,)), L.Dense(4), L.BatchNormalization()],
                             name=PROBE)
    x = keras.Input((6,))
    return keras.Model(x, L.Dense(3)(inner(L.Dense(6)(x))))


def embedding():
    x = keras.Input((5,), dtype="int32")
    return keras.Model(x, L.Embedding(11, 4, name=PROBE)(x))


def normalization():
    return single(lambda **k: L.Normalization(mean=[0.5, -1.0, 2.0], variance=[4.0, 0.25, 1.0],
                                              **k), (4, 3))


# case -> (builder, expected format); GRAPH cases also check the named error of format="layers".
# GRAPH where TF.js 4.22 has the class but not the behaviour: DepthwiseConv2D ignores
# dilation_rate, ELU refuses alpha != 1, UpSampling2D's bilinear and Resizing sample other
# points than Keras, CenterCrop corrupts its input's shape (see layers_model._adapt).
CASES = {
    # core
    "sequential": (sequential, LAYERS),
    "sequential_built": (sequential_built, LAYERS),
    "functional_multi_io_shared": (functional_multi_io_shared, LAYERS),
    "nested_model": (nested, GRAPH),
    "dense": (lambda: single(lambda **k: L.Dense(5, activation="relu", **k), (3, 6)), LAYERS),
    "dense_no_bias": (lambda: single(lambda **k: L.Dense(5, use_bias=False, **k), (6,)), LAYERS),
    "dense_hard_sigmoid": (lambda: single(lambda **k: L.Dense(5, activation="hard_sigmoid",
                                                              **k), (6,)), GRAPH),
    "embedding": (embedding, LAYERS),
    # recurrent layers and wrappers (GRU's Keras 3 default, reset_after=True, is not in tfjs)
    "lstm": (lambda: single(lambda **k: L.LSTM(4, **k), (5, 3)), LAYERS),
    "lstm_sequences_backwards": (lambda: single(lambda **k: L.LSTM(
        4, return_sequences=True, go_backwards=True, **k), (5, 3)), LAYERS),
    "simple_rnn_relu": (lambda: single(lambda **k: L.SimpleRNN(4, activation="relu", **k),
                                       (5, 3)), LAYERS),
    "gru_reset_before": (lambda: single(lambda **k: L.GRU(4, reset_after=False, **k), (5, 3)),
                         LAYERS),
    "gru": (lambda: single(lambda **k: L.GRU(4, **k), (5, 3)), GRAPH),
    "bidirectional_lstm": (lambda: single(lambda **k: L.Bidirectional(L.LSTM(4), **k),
                                          (5, 3)), LAYERS),
    "bidirectional_gru_sum": (lambda: single(lambda **k: L.Bidirectional(
        L.GRU(4, reset_after=False, return_sequences=True), merge_mode="sum", **k), (5, 3)),
        LAYERS),
    "rnn_of_lstm_cell": (lambda: single(lambda **k: L.RNN(L.LSTMCell(4), return_sequences=True,
                                                          **k), (5, 3)), LAYERS),
    "bidirectional_rnn_of_simple_rnn_cell": (lambda: single(lambda **k: L.Bidirectional(
        L.RNN(L.SimpleRNNCell(3)), **k), (5, 3)), LAYERS),
    "time_distributed_dense": (lambda: single(lambda **k: L.TimeDistributed(L.Dense(2), **k),
                                              (5, 3)), LAYERS),
    "time_distributed_conv": (lambda: single(lambda **k: L.TimeDistributed(L.Conv2D(2, 3), **k),
                                             (3, 6, 6, 2)), LAYERS),
    # attention: no tfjs-layers class, a graph model of its ops
    "multi_head_attention_causal": (lambda: attend(lambda q, v, **k: L.MultiHeadAttention(
        2, 4, **k)(q, q, use_causal_mask=True), (5, 8), (5, 8)), GRAPH),
    "attention_scaled": (lambda: attend(lambda q, v, **k: L.Attention(use_scale=True, **k)(
        [q, v]), (5, 4), (7, 4)), GRAPH),
    "additive_attention": (lambda: attend(lambda q, v, **k: L.AdditiveAttention(**k)([q, v]),
                                          (5, 4), (7, 4)), GRAPH),
    "identity": (lambda: between_dense(L.Identity), GRAPH),
    # convolutions
    "conv1d": (lambda: single(lambda **k: L.Conv1D(4, 3, strides=2, padding="same", **k),
                              (9, 3)), LAYERS),
    "conv1d_dilated": (lambda: single(lambda **k: L.Conv1D(4, 3, dilation_rate=2, **k),
                                      (9, 3)), LAYERS),
    "conv1d_causal": (lambda: single(lambda **k: L.Conv1D(4, 3, padding="causal", **k),
                                     (9, 3)), ERROR),
    "conv2d": (lambda: single(lambda **k: L.Conv2D(4, 3, strides=2, padding="same",
                                                   activation="relu6", **k), (7, 7, 3)), LAYERS),
    "conv2d_dilated": (lambda: single(lambda **k: L.Conv2D(4, 3, dilation_rate=2, **k),
                                      (9, 9, 3)), LAYERS),
    "conv2d_groups": (lambda: single(lambda **k: L.Conv2D(6, 3, groups=3, **k), (6, 6, 6)),
                      GRAPH),
    "depthwise": (lambda: single(lambda **k: L.DepthwiseConv2D(3, depth_multiplier=2,
                                                               padding="same", **k), (6, 6, 3)),
                  LAYERS),
    "depthwise_strided": (lambda: single(lambda **k: L.DepthwiseConv2D(3, strides=2, **k),
                                         (7, 7, 3)), LAYERS),
    "depthwise_dilated": (lambda: single(lambda **k: L.DepthwiseConv2D(3, dilation_rate=2, **k),
                                         (8, 8, 3)), GRAPH),
    "separable": (lambda: single(lambda **k: L.SeparableConv2D(5, 3, depth_multiplier=2,
                                                               padding="same", **k), (6, 6, 3)),
                  LAYERS),
    "separable_dilated": (lambda: single(lambda **k: L.SeparableConv2D(5, 3, dilation_rate=2,
                                                                       **k), (8, 8, 3)), LAYERS),
    "conv2d_transpose_same": (lambda: single(lambda **k: L.Conv2DTranspose(
        4, 3, strides=2, padding="same", **k), (4, 4, 3)), LAYERS),
    "conv2d_transpose_valid": (lambda: single(lambda **k: L.Conv2DTranspose(
        4, 3, strides=2, **k), (4, 5, 3)), LAYERS),
    "conv2d_transpose_output_padding": (lambda: single(lambda **k: L.Conv2DTranspose(
        4, 3, strides=2, output_padding=1, **k), (4, 5, 3)), ERROR),
    "conv2d_transpose_dilated": (lambda: single(lambda **k: L.Conv2DTranspose(
        4, 3, dilation_rate=2, **k), (4, 5, 3)), ERROR),
    # normalization
    "batch_norm": (lambda: single(L.BatchNormalization, (4, 4, 3)), LAYERS),
    "batch_norm_no_center_scale": (lambda: single(lambda **k: L.BatchNormalization(
        center=False, scale=False, **k), (4, 4, 3)), LAYERS),
    "batch_norm_axis1": (lambda: single(lambda **k: L.BatchNormalization(axis=1, **k), (3, 5)),
                         ERROR),
    "batch_norm_axis2_last": (lambda: single(lambda **k: L.BatchNormalization(axis=2, **k),
                                             (3, 5)), LAYERS),
    "layer_norm": (lambda: single(L.LayerNormalization, (3, 6)), LAYERS),
    "layer_norm_axes": (lambda: single(lambda **k: L.LayerNormalization(axis=[1, 2], **k),
                                       (3, 6)), LAYERS),
    "layer_norm_no_center_scale": (lambda: single(lambda **k: L.LayerNormalization(
        center=False, scale=False, **k), (3, 6)), LAYERS),
    # activation layers
    "relu_max_value": (lambda: single(lambda **k: L.ReLU(max_value=0.5, **k), (3, 7)), LAYERS),
    "relu_threshold": (lambda: single(lambda **k: L.ReLU(threshold=0.3, **k), (3, 7)), GRAPH),
    "relu_negative_slope": (lambda: single(lambda **k: L.ReLU(negative_slope=0.1, **k),
                                           (3, 7)), GRAPH),
    "leaky_relu": (lambda: single(lambda **k: L.LeakyReLU(0.3, **k), (3, 7)), LAYERS),
    "prelu": (lambda: single(L.PReLU, (3, 7)), LAYERS),
    "prelu_shared_axes": (lambda: single(lambda **k: L.PReLU(shared_axes=[1, 2], **k),
                                         (3, 4, 5)), LAYERS),
    "elu": (lambda: single(L.ELU, (3, 7)), LAYERS),
    "elu_alpha": (lambda: single(lambda **k: L.ELU(0.5, **k), (3, 7)), GRAPH),
    "softmax": (lambda: single(L.Softmax, (3, 7)), LAYERS),
    "softmax_axis1": (lambda: single(lambda **k: L.Softmax(axis=1, **k), (3, 7)), ERROR),
    # pooling
    "max_pool1d": (lambda: single(L.MaxPooling1D, (8, 3)), LAYERS),
    "max_pool1d_same": (lambda: single(lambda **k: L.MaxPooling1D(3, strides=2, padding="same",
                                                                  **k), (8, 3)), LAYERS),
    "max_pool2d": (lambda: single(L.MaxPooling2D, (6, 6, 3)), LAYERS),
    "max_pool2d_same": (lambda: single(lambda **k: L.MaxPooling2D(3, strides=2, padding="same",
                                                                  **k), (7, 7, 3)), LAYERS),
    "avg_pool1d": (lambda: single(lambda **k: L.AveragePooling1D(2, **k), (8, 3)), LAYERS),
    "avg_pool1d_same": (lambda: single(lambda **k: L.AveragePooling1D(3, strides=2,
                                                                      padding="same", **k),
                                       (8, 3)), LAYERS),
    "avg_pool2d": (lambda: single(lambda **k: L.AveragePooling2D(2, **k), (6, 6, 3)), LAYERS),
    "avg_pool2d_same": (lambda: single(lambda **k: L.AveragePooling2D(3, strides=2,
                                                                      padding="same", **k),
                                       (7, 7, 3)), LAYERS),
    "global_avg_pool1d": (lambda: single(L.GlobalAveragePooling1D, (5, 3)), LAYERS),
    "global_max_pool1d": (lambda: single(L.GlobalMaxPooling1D, (5, 3)), LAYERS),
    "global_avg_pool2d": (lambda: single(L.GlobalAveragePooling2D, (4, 5, 3)), LAYERS),
    "global_max_pool2d": (lambda: single(L.GlobalMaxPooling2D, (4, 5, 3)), LAYERS),
    "global_avg_pool1d_keepdims": (lambda: single(lambda **k: L.GlobalAveragePooling1D(
        keepdims=True, **k), (5, 3)), GRAPH),
    "global_max_pool2d_keepdims": (lambda: single(lambda **k: L.GlobalMaxPooling2D(
        keepdims=True, **k), (4, 5, 3)), GRAPH),
    # reshaping
    "flatten": (lambda: single(L.Flatten, (3, 4, 2)), LAYERS),
    "reshape": (lambda: single(lambda **k: L.Reshape((4, -1), **k), (3, 4, 2)), LAYERS),
    "permute": (lambda: single(lambda **k: L.Permute((3, 1, 2), **k), (3, 4, 2)), LAYERS),
    "repeat_vector": (lambda: single(lambda **k: L.RepeatVector(3, **k), (5,)), LAYERS),
    "zero_padding1d": (lambda: single(lambda **k: L.ZeroPadding1D((1, 2), **k), (5, 3)), GRAPH),
    "zero_padding2d": (lambda: single(lambda **k: L.ZeroPadding2D(((1, 2), (0, 1)), **k),
                                      (4, 4, 3)), LAYERS),
    "cropping1d": (lambda: single(lambda **k: L.Cropping1D((1, 2), **k), (7, 3)), GRAPH),
    "cropping2d": (lambda: single(lambda **k: L.Cropping2D(((1, 0), (0, 2)), **k), (5, 6, 3)),
                   LAYERS),
    "upsampling1d": (lambda: single(lambda **k: L.UpSampling1D(3, **k), (4, 3)), GRAPH),
    "upsampling2d": (lambda: single(lambda **k: L.UpSampling2D((2, 3), **k), (3, 4, 2)),
                     LAYERS),
    "upsampling2d_bilinear": (lambda: single(lambda **k: L.UpSampling2D(
        2, interpolation="bilinear", **k), (3, 4, 2)), GRAPH),
    # regularization (identity at inference)
    "dropout": (lambda: between_dense(lambda **k: L.Dropout(0.5, **k)), LAYERS),
    "spatial_dropout1d": (lambda: between_dense(lambda **k: L.SpatialDropout1D(0.5, **k)),
                          LAYERS),
    "spatial_dropout2d": (lambda: single(lambda **k: L.SpatialDropout2D(0.5, **k), (4, 4, 3)),
                          LAYERS),
    "gaussian_noise": (lambda: between_dense(lambda **k: L.GaussianNoise(0.5, **k)), LAYERS),
    "gaussian_dropout": (lambda: between_dense(lambda **k: L.GaussianDropout(0.5, **k)),
                         LAYERS),
    "alpha_dropout": (lambda: between_dense(lambda **k: L.AlphaDropout(0.5, **k)), LAYERS),
    # merging
    "add": (lambda: merge("Add"), LAYERS),
    "subtract": (lambda: merge("Subtract"), GRAPH),
    "multiply": (lambda: merge("Multiply"), LAYERS),
    "average": (lambda: merge("Average"), LAYERS),
    "maximum": (lambda: merge("Maximum"), LAYERS),
    "minimum": (lambda: merge("Minimum"), LAYERS),
    "concatenate": (lambda: merge("Concatenate", ((3, 4), (3, 2))), LAYERS),
    "concatenate_axis1": (lambda: merge("Concatenate", ((3, 4), (2, 4)), axis=1), LAYERS),
    "dot": (lambda: merge("Dot", axes=1), LAYERS),
    "dot_normalize": (lambda: merge("Dot", axes=1, normalize=True), LAYERS),
    "dot_3d": (lambda: merge("Dot", ((3, 4), (5, 4)), axes=(2, 2)), LAYERS),
    # preprocessing
    "rescaling": (lambda: single(lambda **k: L.Rescaling(0.5, offset=-0.25, **k), (4, 4, 3)),
                  LAYERS),
    "normalization": (normalization, GRAPH),
    "resizing_bilinear": (lambda: single(lambda **k: L.Resizing(6, 8, **k), (4, 5, 3)), GRAPH),
    "resizing_nearest": (lambda: single(lambda **k: L.Resizing(6, 8, interpolation="nearest",
                                                               **k), (4, 5, 3)), GRAPH),
    "center_crop": (lambda: single(lambda **k: L.CenterCrop(4, 3, **k), (8, 7, 3)), GRAPH),
    "center_crop_upsize": (lambda: single(lambda **k: L.CenterCrop(6, 5, **k), (4, 5, 3)),
                           ERROR),
}
ACTIVATIONS = {"linear": LAYERS, "relu": LAYERS, "relu6": LAYERS, "sigmoid": LAYERS,
               "hard_sigmoid": GRAPH, "tanh": LAYERS, "softmax": LAYERS, "log_softmax": LAYERS,
               "swish": LAYERS, "silu": LAYERS, "hard_swish": GRAPH, "hard_silu": GRAPH,
               "gelu": LAYERS, "elu": LAYERS, "selu": LAYERS, "softplus": LAYERS,
               "softsign": LAYERS, "leaky_relu": GRAPH, "exponential": GRAPH}
# (gelu's tanh approximation has no name in Keras 3: a .keras file can only hold the exact one)
CASES.update({f"activation_{name}": (activation(name), fmt) for name, fmt in ACTIVATIONS.items()})


# -- running ----------------------------------------------------------------------------------
def randomized(model, seed):
    """Non-trivial weights everywhere (BN moving variances positive)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if "variance" in v.path
                       else rng.normal(0, 0.5, w.shape).astype(np.float32)
                       for v, w in zip(model.weights, model.get_weights())])
    return model


def sample(model, seed):
    rng = np.random.default_rng(seed)
    arrays = []
    for tensor in model.inputs:
        shape = (2, *tensor.shape[1:])
        if "int" in str(tensor.dtype):
            arrays.append(rng.integers(0, 11, shape).astype(np.int32))
        else:
            arrays.append((2 * rng.standard_normal(shape)).astype(np.float32))
    return arrays


def export_and_run(root) -> dict:
    """Every case saved as .keras, exported with format="auto" (and, for those that must fall
    back, tried with format="layers"), all run in one Node process.

    Returns case -> {"format", "tfjs" (outputs), "keras" (outputs), "layers_error"}."""
    cases, jobs = {}, []
    for i, (case, (build, _)) in enumerate(CASES.items()):
        keras.utils.clear_session()
        model = randomized(build(), seed=i)
        path = root / f"{case}.keras"
        model.save(path)
        x = sample(model, seed=1000 + i)
        expected = model.predict(x if len(x) > 1 else x[0], verbose=0)
        out = root / case
        try:
            fmt = export_web(path, out)["format"]
        except Exception as err:  # checked by this case's test, the others still run
            fmt = ERROR if isinstance(err, UnsupportedLayerError) else repr(err)
            cases[case] = {"format": fmt, "error": str(err), "out_exists": out.exists(),
                           "probe_class": type(model.get_layer(PROBE)).__name__}
            continue
        layers_error = None
        if fmt == GRAPH:
            try:
                export_web(path, root / f"{case}-layers", format="layers")
            except UnsupportedLayerError as err:
                layers_error = str(err)
        names = [f"input{j}" for j in range(len(x))]
        if fmt == GRAPH:
            names = list(json.loads((out / "model.json").read_text())["signature"]["inputs"])
        jobs.append((out, list(zip(names, x))))
        cases[case] = {"format": fmt, "layers_error": layers_error,
                       "probe_class": type(model.get_layer(PROBE)).__name__,
                       "keras": expected if isinstance(expected, list) else [expected],
                       "layers_dir_exists": (root / f"{case}-layers").exists()}
    exported = [case for case in cases if "keras" in cases[case]]
    for case, result in zip(exported, run_node(root, jobs)):
        cases[case].update(result)
    return cases


def run_node(root, jobs) -> list[dict]:
    """Like helpers.run_tfjs (one server for the whole ``root``), but a job that TF.js cannot
    load or run gives {"tfjs_error": message} for its own case instead of failing them all."""
    require_node()
    server, url = serve_in_thread(root)
    try:
        specs = [{"url": f"{url}{Path(directory).relative_to(root)}/model.json",
                  "format": json.loads((Path(directory) / "model.json").read_text())["format"],
                  "inputs": [{"name": n, **_encode(x)} for n, x in inputs]}
                 for directory, inputs in jobs]
        job_file, out_file = root / "jobs.json", root / "out.json"
        job_file.write_text(json.dumps(specs))
        proc = subprocess.run(["node", str(JS_DIR / "predict.mjs"), str(job_file),
                               str(out_file)], cwd=JS_DIR, capture_output=True, text=True,
                              timeout=600)
        if proc.returncode != 0:
            pytest.fail(f"node failed:\n{proc.stderr[-3000:]}")
        results = json.loads(out_file.read_text())
    finally:
        server.shutdown()
        server.server_close()
    return [{"tfjs_error": r["error"][:2000]} if "error" in r
            else {"tfjs": [_decode(o) for o in r["outputs"]]} for r in results]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return export_and_run(tmp_path_factory.mktemp("coverage"))


@pytest.mark.parametrize("case", CASES)
def test_layer_round_trips(case, results):
    """The expected bundle format, and TF.js predicts what Keras predicts."""
    result = results[case]
    assert result["format"] == CASES[case][1], f"{case}: {result['format']}"
    if result["format"] == ERROR:
        assert re.search(rf"'{PROBE}' \({result['probe_class']}\b", result["error"]), \
            result["error"]
        assert not result["out_exists"]
        return
    if "tfjs_error" in result:
        pytest.fail(f"TF.js could not run {case}:\n{result['tfjs_error']}")
    assert len(result["tfjs"]) == len(result["keras"])
    for got, want in zip(result["tfjs"], result["keras"]):
        assert_close(got, want, what=f"{case} ({result['format']}) vs Keras")


@pytest.mark.parametrize("case", [c for c, (_, fmt) in CASES.items() if fmt == GRAPH])
def test_layers_format_names_what_tfjs_lacks(case, results):
    """format="layers" refuses the model, naming the layer and its class, and writes nothing."""
    error = results[case]["layers_error"]
    assert error is not None, f"{case}: format='layers' did not raise UnsupportedLayerError"
    assert re.search(rf"'{PROBE}' \({results[case]['probe_class']}\b", error), error
    assert not results[case]["layers_dir_exists"]
