"""Bad input: refused layers, unreadable files, quantizing settings; reading without Keras."""

from __future__ import annotations

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
