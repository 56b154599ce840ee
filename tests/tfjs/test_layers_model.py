"""Keras models export as layers models that tfjs-layers 4.22 loads and that predict what Keras
and edgeport predict; layers TF.js lacks fall back to a graph model or are named."""

import json

import keras
import numpy as np
import pytest

from edgeport.errors import UnsupportedLayerError
from edgeport.export.tfjs import export_web
from edgeport.export.tfjs.weights import read_weights
from edgeport.frontends.keras import load_keras
from edgeport.passes import optimize
from tests.tfjs.helpers import assert_close, run_edgeport, run_tfjs

L = keras.layers


def cnn():
    x = keras.Input((12, 12, 3), name="image")
    h = L.Conv2D(8, 3, padding="same", activation="silu")(x)
    h = L.BatchNormalization()(h)
    a = L.DepthwiseConv2D(3, padding="same", activation="relu6")(h)
    b = L.SeparableConv2D(8, 3, padding="same")(h)
    h = L.Add()([a, b])
    h = L.LeakyReLU(negative_slope=0.1)(h)
    h = L.MaxPooling2D()(h)
    h = L.ZeroPadding2D(1)(h)
    h = L.Conv2D(6, 3, strides=2, use_bias=False)(h)
    h = L.PReLU()(h)
    c = L.Concatenate()([L.GlobalAveragePooling2D()(h), L.GlobalMaxPooling2D()(h)])
    c = L.Dropout(0.3)(c)
    y = L.Dense(5, activation="softmax", name="probs")(c)
    return keras.Model(x, y, name="cnn")


def mlp():
    return keras.Sequential([keras.Input((6,)), L.Dense(16, activation="gelu"),
                             L.LayerNormalization(), L.Dense(8, activation="tanh"),
                             L.ReLU(max_value=0.5), L.Dense(3)], name="mlp")


def decoder():
    x = keras.Input((4, 4, 2))
    h = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(x)
    h = L.UpSampling2D()(h)
    h = L.Cropping2D(1)(h)
    h = L.Rescaling(0.5, offset=0.1)(h)
    h = L.Flatten()(h)
    h = L.Reshape((14, 14 * 4))(h)
    h = L.Conv1D(3, 3, activation="sigmoid")(h)
    h = L.Permute((2, 1))(h)
    return keras.Model(x, L.Softmax()(h))


def randomized(model, seed=0):
    """Non-trivial weights everywhere (BN statistics included)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) if "variance" in v.path
                       else rng.normal(0, 0.5, w.shape).astype(np.float32)
                       for v, w in zip(model.weights, model.get_weights())])
    return model


MODELS = {"cnn": cnn, "mlp": mlp, "decoder": decoder}


def sample(model, batch=2, seed=1):
    shape = (batch, *model.inputs[0].shape[1:])
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each model exported from a .keras file (float32, and uint16 in 300-byte shards), run in
    one Node process."""
    root = tmp_path_factory.mktemp("layers")
    jobs, cases = [], {}
    for name, build in MODELS.items():
        model = randomized(build())
        path = root / f"{name}.keras"
        model.save(path)
        x = sample(model)
        for variant, options in (("float", {}), ("uint16", {"quantize": "uint16",
                                                           "shard_size": 300})):
            out = root / f"{name}-{variant}"
            assert export_web(path, out, **options)["format"] == "layers-model"
            jobs.append((out, [("x", x)]))
            cases[(name, variant)] = (model, path, out, x)
    return dict(zip(cases, run_tfjs(jobs))), cases


@pytest.mark.parametrize("name", MODELS)
def test_layers_model_matches_keras_and_edgeport(name, runs):
    results, cases = runs
    model, path, _, x = cases[(name, "float")]
    (got,) = results[(name, "float")]["outputs"]
    assert_close(got, model.predict(x, verbose=0), what="vs Keras")
    (ours,) = run_edgeport(optimize(load_keras(path)), [x])
    assert_close(got, ours, what="vs edgeport")


@pytest.mark.parametrize("name", MODELS)
def test_quantized_sharded_layers_model_within_quantization_error(name, runs):
    """uint16 weights: TF.js must compute exactly Keras-with-the-dequantized-weights."""
    results, cases = runs
    model, _, out, x = cases[(name, "uint16")]
    manifest = json.loads((out / "model.json").read_text())["weightsManifest"]
    assert len(manifest[0]["paths"]) > 1
    decoded = read_weights(manifest, out)
    names = [w["name"] for w in manifest[0]["weights"]]
    by_layer = {}
    for n in names:
        by_layer.setdefault(n.split("/")[0], []).append(decoded[n])
    for layer in model.layers:
        if layer.weights:
            original = layer.get_weights()
            layer.set_weights(by_layer[layer.name])
            # the uint16 grid step bounds each weight's change
            for a, b in zip(original, by_layer[layer.name]):
                assert np.max(np.abs(a - b)) <= (a.max() - a.min()) / 65535 + 1e-7
    (got,) = results[(name, "uint16")]["outputs"]
    assert_close(got, model.predict(x, verbose=0), what="vs Keras with decoded weights")


def test_topology_is_keras2_style(runs):
    _, cases = runs
    out = cases[("cnn", "float")][2]
    model = json.loads((out / "model.json").read_text())
    text = json.dumps(model)
    for keras3 in ('"batch_shape"', '"module"', '"registered_name"', '"build_config"',
                   "DTypePolicy", "__keras_tensor__", '"silu"', "optimizer"):
        assert keras3 not in text
    config = model["modelTopology"]["model_config"]["config"]
    assert config["layers"][0]["config"]["batch_input_shape"] == [None, 12, 12, 3]
    assert config["input_layers"] == [["image", 0, 0]]
    names = [w["name"] for w in model["weightsManifest"][0]["weights"]]
    assert names[:2] == ["conv2d/kernel", "conv2d/bias"] or all(n.count("/") == 1 for n in names)
    assert all(not n.split("/")[-1].isdigit() for n in names)


def unsupported():
    x = keras.Input((5,))
    a = L.Dense(4)(x)
    b = L.Dense(4)(x)
    y = L.Subtract(name="diff")([a, b])  # TF.js has no Subtract layer
    return randomized(keras.Model(x, L.Dense(2, activation="softmax")(y)))


def test_layers_tfjs_lacks_fall_back_to_a_graph_model(tmp_path):
    model = unsupported()
    with pytest.raises(UnsupportedLayerError, match="'diff' \\(Subtract"):
        export_web(model, tmp_path / "layers", format="layers")
    assert not (tmp_path / "layers").exists()
    summary = export_web(model, tmp_path / "auto")
    assert summary["format"] == "graph-model"
    x = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    name = next(iter(json.loads((tmp_path / "auto" / "model.json").read_text())
                     ["signature"]["inputs"]))
    (result,) = run_tfjs([(tmp_path / "auto", [(name, x)])])
    assert_close(result["outputs"][0], model.predict(x, verbose=0))


def test_softmax_on_another_axis_is_refused_in_layers():
    x = keras.Input((3, 4))
    model = keras.Model(x, L.Softmax(axis=1, name="sm")(x))
    from edgeport.export.tfjs.layers_model import export_layers_model
    from edgeport.frontends.keras import read_live_model
    with pytest.raises(UnsupportedLayerError, match="'sm' \\(Softmax: axis=1"):
        export_layers_model(read_live_model(model))
