"""Bad input: refused layers, unreadable files, quantizing settings; reading without Keras."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from edgeport.errors import ModelFormatError, UnsupportedLayerError
from edgeport.lite.converter import TFLiteConverter

layers = keras.layers


def saved(model, tmp_path, name="model.keras"):
    path = tmp_path / name
    model.save(path)
    return path


def test_lambda_custom_and_channels_first_are_all_named(tmp_path):
    @keras.saving.register_keras_serializable(package="tests")
    class Twice(layers.Layer):
        def call(self, x):
            return x * 2

    inp = keras.Input((4, 4, 3))
    x = layers.Lambda(lambda t: t + 1, name="plus_one")(inp)
    x = Twice(name="twice")(x)
    x = layers.Conv2D(2, 1, data_format="channels_first", name="cf_conv")(x)
    model = keras.Model(inp, x)
    for source in (lambda: TFLiteConverter.from_keras_model(model),
                   lambda: TFLiteConverter.from_keras_file(saved(model, tmp_path))):
        with pytest.raises(UnsupportedLayerError) as error:
            source().convert()
        message = str(error.value)
        for name, cls in (("plus_one", "Lambda"), ("twice", "Twice"), ("cf_conv", "Conv2D")):
            assert f"'{name}' ({cls})" in message


def test_unsupported_option_found_while_building(tmp_path):
    inp = keras.Input((8, 3))
    x = layers.Conv1D(2, 3, padding="causal", name="causal")(inp)
    x = layers.ReLU(threshold=0.5, name="thresh")(x)
    model = keras.Model(inp, layers.Dense(2, name="after")(inp))
    model2 = keras.Model(inp, [x, layers.Softmax(axis=1, name="soft")(inp)])
    with pytest.raises(UnsupportedLayerError, match="'causal' \\(Conv1D\\).*'soft'"):
        TFLiteConverter.from_keras_model(model2).convert()
    TFLiteConverter.from_keras_model(model).convert()  # the rest converts


def test_nothing_is_written_on_failure(tmp_path):
    from edgeport.io import atomic_write

    inp = keras.Input((3,))
    model = keras.Model(inp, layers.Lambda(lambda t: t)(inp))
    out = tmp_path / "out.tflite"
    with pytest.raises(UnsupportedLayerError):
        atomic_write(out, TFLiteConverter.from_keras_model(model).convert())
    assert not out.exists()


def small(tmp_path, name="model.keras"):
    model = keras.Sequential([keras.Input((5,)), layers.Dense(3, name="dense")])
    return saved(model, tmp_path, name)


@pytest.mark.parametrize("damage", ["truncate", "no_weights", "bad_json", "not_a_model",
                                    "wrong_shape", "missing_vars"])
def test_broken_keras_archives(tmp_path, damage):
    path = small(tmp_path)
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if damage == "truncate":
        broken.write_bytes(path.read_bytes()[:200])
    else:
        if damage == "no_weights":
            del members["model.weights.h5"]
        elif damage == "bad_json":
            members["config.json"] = b"{not json"
        elif damage == "not_a_model":
            members["config.json"] = b"[1, 2]"
        else:
            import h5py

            weights = tmp_path / "w.h5"
            weights.write_bytes(members["model.weights.h5"])
            with h5py.File(weights, "r+") as f:
                group = f["layers/dense/vars"]
                if damage == "wrong_shape":
                    del group["0"]
                    group["0"] = np.zeros((4, 3), np.float32)
                else:
                    del group["1"]
            members["model.weights.h5"] = weights.read_bytes()
        with zipfile.ZipFile(broken, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    with pytest.raises(ModelFormatError, match="broken.keras"):
        TFLiteConverter.from_keras_file(broken).convert()


def test_broken_h5_files(tmp_path):
    import h5py

    path = small(tmp_path, "model.h5")
    with h5py.File(path, "r+") as f:
        kernels = []
        f.visit(lambda name: kernels.append(name) if name.endswith("kernel") else None)
        del f[kernels[0]]
    with pytest.raises(ModelFormatError, match="model.h5"):
        TFLiteConverter.from_keras_file(path).convert()
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"hello")
    with pytest.raises(ModelFormatError, match="garbage.h5"):
        TFLiteConverter.from_keras_file(garbage).convert()
    weights_only = tmp_path / "w.weights.h5"
    keras.Sequential([keras.Input((5,)), layers.Dense(3)]).save_weights(weights_only)
    with pytest.raises(ModelFormatError, match="model_config"):
        TFLiteConverter.from_keras_file(weights_only).convert()


def test_reading_needs_neither_keras_nor_tensorflow(tmp_path):
    model = keras.Sequential([keras.Input((6, 6, 2), name="pixels"), layers.Conv2D(3, 3),
                              layers.BatchNormalization(), layers.ReLU(),
                              layers.Flatten(), layers.Dense(4)])
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype(np.float32)
    want = model.predict(x, verbose=0)
    np.save(tmp_path / "x.npy", x)
    for fmt in ("keras", "h5"):
        path = saved(model, tmp_path, f"model.{fmt}")
        script = f"""
import sys
sys.modules['keras'] = None
sys.modules['tensorflow'] = None
import numpy as np
from edgeport.lite.converter import TFLiteConverter
from edgeport.lite import Interpreter
tflite = TFLiteConverter.from_keras_file({str(path)!r}).convert()
assert 'keras' not in [m for m, v in sys.modules.items() if v is not None]
runner = Interpreter(model_content=tflite).get_signature_runner()
np.save({str(tmp_path / 'y.npy')!r}, list(runner(**{{'pixels': np.load({str(tmp_path / 'x.npy')!r})}}).values())[0])
"""
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        subprocess.run([sys.executable, "-c", script], check=True, env=env)
        got = np.load(tmp_path / "y.npy")
        assert np.max(np.abs(got - want)) <= 2e-4 * np.max(np.abs(want))


# -- config values that Keras never writes ----------------------------------------------------
def digits_with(tmp_path, change) -> str:
    """The built-in digits CNN as a .keras file whose config ``change(layers)`` edited
    (``layers``: the config's layers by name)."""
    from edgeport.examples import trained_digits_model_path

    with zipfile.ZipFile(trained_digits_model_path()) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    config = json.loads(members["config.json"])
    change({layer["name"]: layer for layer in config["config"]["layers"]})
    members["config.json"] = json.dumps(config).encode()
    path = tmp_path / "damaged.keras"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return str(path)


def set_field(layer: str, field: str, value):
    return lambda layers: layers[layer]["config"].__setitem__(field, value)


def set_history(layer: str, history):
    def change(layers):
        layers[layer]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = history
    return change


@pytest.mark.parametrize("change, match", [
    (set_field("block1_conv", "filters", "x"),
     r"layer 'block1_conv' \(Conv2D\): config field 'filters' is 'x', expected an integer >= 1"),
    (set_field("pool2", "pool_size", [2, 1.5]),
     r"layer 'pool2' \(MaxPooling2D\): config field 'pool_size' is \[2, 1.5\], expected an "
     r"integer >= 1 or a list of 2"),
    (set_field("block1_bn", "epsilon", float("nan")),
     r"layer 'block1_bn' \(BatchNormalization\): config field 'epsilon' is nan, expected a "
     r"finite number"),
    (set_field("dense", "units", True),
     r"layer 'dense' \(Dense\): config field 'units' is True, expected an integer >= 1"),
    (set_field("probabilities", "use_bias", []),
     r"layer 'probabilities' \(Dense\): config field 'use_bias' is \[\], expected true or false"),
    (set_field("block1_relu", "max_value", {}),
     r"layer 'block1_relu' \(ReLU\): config field 'max_value' is \{\}, expected a finite number"),
    (set_field("image", "batch_shape", [None, 10**9, 8, 1]),
     r"layer 'image' \(InputLayer\): the input would have shape \[1, 1000000000, 8, 1\], more "
     r"than \d+ elements"),
    (set_field("block2_conv", "dilation_rate", [10**9, 1]),
     r"layer 'block2_conv' \(Conv2D\): its padded input would have shape \[1, 2000000008, 10, "
     r"16\], more than \d+ elements"),
    (set_field("block3_conv", "strides", -1),
     r"layer 'block3_conv' \(Conv2D\): config field 'strides' is -1, expected an integer "
     r">= 1"),
    (set_history("block1_bn", ["block1_conv", 0, 5]),
     r"layer 'block1_bn' reads output 5 of layer 'block1_conv' \(call 0\), which has 1"),
    (set_history("dense", ["flatten", -1, 0]),
     r"layer 'dense' \(Dense\): config field 'inbound_nodes\[0\].args\[0\].config."
     r"keras_history' is \['flatten', -1, 0\], expected \[layer name, node index, tensor "
     r"index\]"),
    (lambda layers: layers["pool3"]["inbound_nodes"][0]["args"][0].__setitem__(
        "class_name", "x"),
     r"layer 'pool3' \(MaxPooling2D\): the config calls it on 0 inputs, it takes 1"),
    (lambda layers: layers["flatten"].__setitem__("class_name", {}),
     r"model 'digits_cnn': config field 'layers\[12\].class_name' is \{\}, expected a class "
     r"name"),
])
def test_wrong_config_values_name_the_file_layer_and_field(tmp_path, change, match):
    """Values of the right JSON syntax but the wrong type or range are refused, naming the
    file, the layer and the field, with what Keras would have written."""
    path = digits_with(tmp_path, change)
    with pytest.raises(ModelFormatError, match=match) as caught:
        TFLiteConverter.from_keras_file(path).convert()
    assert str(caught.value).startswith(f"{path}: ")
    assert "the model file is damaged or was not written by Keras" in str(caught.value)


@pytest.mark.parametrize("value", [0, "x", 1.5, [b"dense/kernel", b"nowhere"]])
def test_wrong_h5_weight_names_are_refused(tmp_path, value):
    import h5py

    path = small(tmp_path, "model.h5")
    with h5py.File(path, "r+") as f:
        f["model_weights/dense"].attrs["weight_names"] = value
    with pytest.raises(ModelFormatError, match=r"model.h5: weights of layer 'dense': "
                                               r"(the weight_names attribute is|weight )"):
        TFLiteConverter.from_keras_file(path).convert()


class Subclassed(keras.Model):
    # Keras saves no name for it: its config passes the base config (with the name) only to
    # an __init__ whose catch-all is called kwargs
    def __init__(self, **options):
        super().__init__(**options)
        self.project = layers.Dense(3, name="project")

    def call(self, x):
        return self.project(x)


def test_a_subclassed_model_is_named_with_its_class(tmp_path):
    """A subclassed model's config holds no name: a live model's own name is used, a saved
    model inside a Sequential gets the name Keras gives it on loading, a saved top-level one
    is "the model"; every message names the class and says why."""
    alone = Subclassed(name="mine")
    alone(np.zeros((1, 4), np.float32))
    inner = keras.Sequential([keras.Input((4,)), Subclassed(name="inner"), layers.ReLU()])
    expected = [(alone, "layer 'mine' (Subclassed)"),
                (saved(alone, tmp_path, "alone.keras"), "the model (Subclassed)"),
                (inner, "layer 'inner' (Subclassed)"),
                (saved(inner, tmp_path), "layer 'subclassed' (Subclassed)")]
    for model, name in expected:
        with pytest.raises(UnsupportedLayerError) as error:
            if isinstance(model, keras.Model):
                TFLiteConverter.from_keras_model(model).convert()
            else:
                TFLiteConverter.from_keras_file(model).convert()
        message = str(error.value)
        assert f"{name}: subclassed models hold Python code" in message, message
        assert "'?'" not in message


def test_from_keras_model_refuses_what_is_not_a_model():
    with pytest.raises(ModelFormatError, match="a str is not a Keras 3 model"):
        TFLiteConverter.from_keras_model("model.keras")
