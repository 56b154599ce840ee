"""``edgeport inspect`` on Keras files (.keras, .h5 from Keras 3, a Keras 2 style .h5), on files
that are no model, and the attrs it prints for an int8 .tflite. Keras 3 builds the models and
says what their layers' parameter counts and output shapes are."""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from edgeport.examples import __file__ as examples_init
from edgeport.export.tflite import save_tflite
from edgeport.frontends.tflite import read_tflite
from edgeport.lite import Optimize, TFLiteConverter
from tests.opmodels import Input, op_graph
from tests.test_cli import _plain_console, cli, console_script, table_rows  # noqa: F401

DIGITS = Path(examples_init).parent / "digits_cnn.keras"


def layer_rows(out: str) -> dict[str, list[str]]:
    """The layers table's rows (name, class, output shape, parameters, inbound, conversion)
    by layer name; continuation lines (a shared layer's second call) and the totals footer
    (no class) are left out."""
    return {row[0]: row for row in table_rows(out) if len(row) == 6 and row[0] and row[1]}


def keras_shape(shape) -> str:
    """How inspect prints a Keras shape: the batch (None) as -1."""
    return "[" + ", ".join("-1" if d is None else str(d) for d in shape) + "]"


def assert_layers_match_keras(out: str, model, prefix: str = "") -> None:
    """Every layer of the live ``model`` (nested models' too) has its row, with keras' class
    name, output shape and count_params()."""
    import keras

    rows = layer_rows(out)
    for layer in model.layers:
        name = prefix + layer.name
        assert rows[name][1] == type(layer).__name__
        assert rows[name][2] == keras_shape(layer.output.shape)
        assert rows[name][3] == f"{layer.count_params():,}"
        if isinstance(layer, keras.Model):
            assert_layers_match_keras(out, layer, f"{name}/")


def test_digits_example_through_the_installed_command():
    import keras

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # tables never wrapped
    done = subprocess.run([console_script(), "inspect", str(DIGITS)], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    model = keras.saving.load_model(DIGITS)
    assert_layers_match_keras(done.stdout, model)
    assert "format      .keras (Keras 3 zip archive)" in done.stdout
    assert "inputs      image [-1, 8, 8, 1]" in done.stdout
    assert "outputs     probabilities [-1, 10]" in done.stdout
    assert ["total", "", "", f"{model.count_params():,}", "", ""] in table_rows(done.stdout)
    assert ["float32", str(len(model.weights)), f"{model.count_params():,}",
            f"{4 * model.count_params():,}"] in table_rows(done.stdout)
    assert all(row[5] == "ok" for row in layer_rows(done.stdout).values())


def test_keras3_h5_with_nested_shared_and_operation_layers(tmp_path, capsys):
    import keras

    head = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="proj")],
                            name="head")
    x = keras.Input((4,), name="x")
    shared = keras.layers.Dense(4, name="shared")
    a = shared(x)
    b = shared(keras.layers.Dense(4, name="pre")(x))
    total = keras.layers.Add(name="sum")([a, b])
    model = keras.Model(x, [head(keras.layers.Dense(3, name="mid")(total) + 1.0), a],
                        name="rich")
    path = tmp_path / "rich.h5"
    model.save(path)
    code, out, err = cli(capsys, "inspect", path)
    assert code == 0 and err == ""
    assert_layers_match_keras(out, model)
    rows = layer_rows(out)
    assert rows["sum"][4] == "shared, shared" and rows["shared"][4] == "x"
    assert ["", "", "", "", "pre", ""] in table_rows(out)  # the shared layer's second call
    # The `+ 1.0`, a keras.ops operation, named by Keras (add, add_1, ... within a process).
    (operation,) = [row for row in rows.values() if row[1] == "ops.Add"]
    assert re.fullmatch(r"add(_\d+)?", operation[0]) and operation[2] == "[-1, 3]"
    assert "format      .h5 (Keras 2 or 3 full-model HDF5 file)" in out
    assert "head [-1, 2]" in out and "shared [-1, 4]" in out
    assert "conversion  ok" in out
    assert ["total", "", "", f"{model.count_params():,}", "", ""] in table_rows(out)


def test_layers_without_rule_are_flagged(tmp_path, capsys):
    import keras

    @keras.saving.register_keras_serializable(package="edgeport_tests")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    x = keras.Input((4,), name="x")
    hidden = keras.layers.Lambda(lambda t: t + 1.0, name="shift")(
        keras.layers.Dense(3, name="dense")(x))
    model = keras.Model(x, keras.layers.Dense(2, name="out")(Doubler(name="double")(hidden)))
    path = tmp_path / "unconvertible.keras"
    model.save(path)
    code, out, err = cli(capsys, "inspect", path)
    assert code == 0 and err == ""
    rows = layer_rows(out)
    assert rows["shift"][5].startswith("no rule: Lambda layers hold Python code")
    assert rows["double"][5] == "no rule: custom layer classes cannot be converted"
    assert rows["dense"][5] == rows["out"][5] == "has a rule"
    assert rows["out"][2] == "?"  # no consumer records it, and no IR graph was built
    assert rows["dense"][3] == f"{model.get_layer('dense').count_params():,}"
    assert "cannot convert 2 layer(s)" in out


def test_keras2_h5_shapes_come_from_the_ir_graph(tmp_path, capsys):
    """Keras 2 records no tensor shapes in its configs: inspect takes them from the graph."""
    rng = np.random.default_rng(0)
    arrays = {"hidden": [rng.normal(size=(4, 3)), rng.normal(size=3)],
              "logits": [rng.normal(size=(3, 2)), rng.normal(size=2)]}
    layers = [{"class_name": "InputLayer", "name": "features", "inbound_nodes": [],
               "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                          "name": "features"}}]
    for before, (name, units) in zip(["features", "hidden"], [("hidden", 3), ("logits", 2)]):
        layers.append({"class_name": "Dense", "name": name,
                       "inbound_nodes": [[[before, 0, 0, {}]]],
                       "config": {"name": name, "units": units, "activation": "relu",
                                  "use_bias": True}})
    config = {"class_name": "Model", "config": {
        "name": "keras2", "layers": layers, "input_layers": [["features", 0, 0]],
        "output_layers": [["logits", 0, 0]]}}
    path = tmp_path / "keras2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        weights = f.create_group("model_weights")
        for layer in ("features", "hidden", "logits"):
            group = weights.create_group(layer)
            named = {f"{layer}/{n}:0": a for n, a in zip(("kernel", "bias"),
                                                         arrays.get(layer, []))}
            group.attrs["weight_names"] = [n.encode() for n in named]
            for name, value in named.items():
                group[name] = value.astype(np.float32)
    code, out, _ = cli(capsys, "inspect", path)
    rows = layer_rows(out)
    assert code == 0
    assert rows["hidden"][1:5] == ["Dense", "[-1, 3]", f"{sum(a.size for a in arrays['hidden'])}",
                                   "features"]
    assert rows["logits"][2:4] == ["[-1, 2]", f"{sum(a.size for a in arrays['logits'])}"]
    assert "outputs     logits [-1, 2]" in out


def not_models(tmp_path) -> dict[str, Path]:
    text = tmp_path / "notes.keras"
    text.write_text("these are notes, not a model\n")
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    archive = tmp_path / "photos.keras"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("photo.jpg", b"\xff\xd8")
    weights_only = tmp_path / "weights.h5"
    with h5py.File(weights_only, "w") as f:
        f["kernel"] = np.zeros(3)
    return {"text": text, "empty": empty, "zip": archive, "weights_only": weights_only}


@pytest.mark.parametrize("kind", ["text", "empty", "zip", "weights_only"])
def test_a_file_that_is_no_model_gives_one_line(tmp_path, capsys, kind):
    path = not_models(tmp_path)[kind]
    code, out, err = cli(capsys, "inspect", path)
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"edgeport: error: {path}: ")
    if kind in ("text", "empty"):
        assert all(f in err for f in (".tflite", ".keras", ".h5"))


def test_no_model_through_the_installed_command(tmp_path):
    path = not_models(tmp_path)["text"]
    done = subprocess.run([console_script(), "inspect", str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"edgeport: error: {path}: not a model file that inspect reads; it "
                           "reads .tflite (TFLite flatbuffer), .keras (Keras 3 zip archive), "
                           ".h5 (Keras 2 or 3 full-model HDF5 file)\n")


def test_int8_ops_show_no_unset_bias_type(tmp_path, capsys):
    """quantized_bias_type=FLOAT32 is the schema's 'not set' (the bias tensor's type rules):
    inspect leaves it out; the bias tensors themselves show int32."""
    converter = TFLiteConverter.from_keras_file(DIGITS)
    converter.optimizations = [Optimize.DEFAULT]
    converter.calibration_progress = False
    rng = np.random.default_rng(0)
    converter.representative_dataset = lambda: (
        [rng.uniform(0, 16, (1, 8, 8, 1)).astype(np.float32)] for _ in range(4))
    path = tmp_path / "int8.tflite"
    path.write_bytes(converter.convert())
    quantized = [op for op in read_tflite(path).ops if op.type in ("CONV_2D", "FULLY_CONNECTED")]
    assert quantized and all(op.attrs["quantized_bias_type"] == "FLOAT32" for op in quantized)
    code, out, _ = cli(capsys, "inspect", path)
    assert code == 0 and "quantized_bias_type" not in out
    rows = table_rows(out)
    assert any(row[1] == "CONV_2D" and row[4] == "padding=SAME" for row in rows)
    assert ["", "", "", "", "fused_activation_function=RELU"] in rows
    biases = [row for row in rows if len(row) == 7 and row[1].endswith("bias_quantized")]
    assert biases and all(row[3] == "int32" for row in biases)


def test_a_set_tensor_type_attr_is_still_shown(tmp_path, capsys):
    path = tmp_path / "cast.tflite"
    save_tflite(op_graph("CAST", [Input((3,))], {"in_data_type": "FLOAT32",
                                                 "out_data_type": "INT32"},
                         output_dtypes=[np.int32]), path)
    code, out, _ = cli(capsys, "inspect", path)
    assert code == 0
    assert ["0", "CAST", "in0 [3]", "out0 [3]", "out_data_type=INT32"] in table_rows(out)
