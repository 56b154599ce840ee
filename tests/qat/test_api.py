"""QATModel's API on other sources and graphs: live Keras models and .tflite files,
residual ADD / CONCATENATION (shared parameters) / softmax (fixed parameters), learned scales,
the CLI, and clear errors for bad input that leave the model untouched."""

from __future__ import annotations

import argparse
import copy

import numpy as np
import pytest

import edgeport.qat as qat
from edgeport.errors import QuantizationError
from edgeport.lite.converter import TFLiteConverter
from edgeport.quantize.plan import FixedGrid, RangeGrid
from edgeport.cli.qat import add_parser
from tests.oracles.litert import run_litert
from tests.qat.conftest import run
from tests.quantize.models import dataset, mlp, separable


@pytest.fixture(scope="module")
def separable_live():
    return separable((16, 16, 3), classes=5)


def test_live_keras_model_with_shared_and_fixed_params(separable_live):
    _, x = dataset((16, 16, 3), n=96)
    model = qat.prepare(separable_live, representative_dataset=x[:32], learn_scales=True)
    before = model.learned_ranges()
    history = model.fit(x, epochs=2, batch_size=16, learning_rate=1e-3, verbose=0)
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    assert model.learned_ranges() != before  # the ranges are trained parameters
    int8 = model.convert(check_data=x)
    assert model.agreement >= 0.95
    ours = run(int8, x[:16])
    np.testing.assert_array_equal(ours, run_litert(int8, [x[:16]])[0])
    types = {op.type for op in model.graph.ops}
    assert {"CONCATENATION", "ADD", "SOFTMAX", "DEPTHWISE_CONV_2D"} <= types
    # SOFTMAX's output is on the spec's fixed grid, CONCATENATION's inputs on its output's.
    grids = model.plan.grid
    softmax = next(op for op in model.graph.ops if op.type == "SOFTMAX")
    assert grids[softmax.outputs[0]] == FixedGrid(1 / 256, -128)
    concat = next(op for op in model.graph.ops if op.type == "CONCATENATION")
    assert grids[concat.outputs[0]] == RangeGrid(concat.outputs[0])


def test_float_tflite_source_and_int8_io(tmp_path):
    float_model = TFLiteConverter.from_keras_model(mlp()).convert()
    path = tmp_path / "mlp.tflite"
    path.write_bytes(float_model)
    _, x = dataset((20,), n=64)
    model = qat.prepare(str(path), representative_dataset=x)
    y = (x[:, 0] > 0).astype(np.float32)[:, None].repeat(4, 1)
    model.fit(x, y, epochs=1, batch_size=16, loss="mse", verbose=0)
    int8 = model.convert(np.int8, np.int8)
    from edgeport.lite import Interpreter

    detail = Interpreter(model_content=int8).get_input_details()[0]
    assert detail["dtype"] == np.int8
    assert path.read_bytes() == float_model


def test_distillation_starts_at_float_agreement_without_calibration(keras_path, data):
    model = qat.prepare(keras_path)  # ranges from the first batch
    result = model.evaluate(data.x_test)
    assert 0.8 <= result["accuracy"] <= 1.0  # top-1 agreement with the float model
    float_out = model.predict(data.x_test[:8], quantized=False)
    assert float_out.shape == (8, 10)


@pytest.mark.parametrize("bad, message", [
    (lambda d: dict(x=d.x_train[:10], y=d.y_train[:9]), "must match"),
    (lambda d: dict(x=d.x_train[:0]), "no samples"),
    (lambda d: dict(x=d.x_train[:10, :4]), "does not fit"),
    (lambda d: dict(x=np.full_like(d.x_train[:10], np.nan)), "NaN"),
    (lambda d: dict(x=d.x_train[:64], learning_rate=1e30), "loss became"),
])
def test_bad_input_raises_and_leaves_the_model_as_it_was(keras_path, data, bad, message):
    with open(keras_path, "rb") as f:
        original = f.read()
    model = qat.prepare(keras_path, representative_dataset=data.x_train[:50])
    params = {k: np.asarray(v).copy() for k, v in model.params.items()}
    ranges = model.learned_ranges()
    kwargs = bad(data)
    with pytest.raises(QuantizationError, match=message):
        model.fit(kwargs.pop("x"), kwargs.pop("y", None), epochs=2, batch_size=16, verbose=0,
                  **kwargs)
    assert model.learned_ranges() == ranges
    for k, v in params.items():
        np.testing.assert_array_equal(np.asarray(model.params[k]), v)
    with open(keras_path, "rb") as f:
        assert f.read() == original


def test_prepare_leaves_a_graph_untouched():
    from edgeport.frontends.keras import load_keras

    graph = load_keras(mlp())
    snapshot = copy.deepcopy(graph)
    qat.prepare(graph).fit(np.ones((8, 20), np.float32), epochs=1, verbose=0)
    assert [op.type for op in graph.ops] == [op.type for op in snapshot.ops]
    for name, tensor in snapshot.tensors.items():
        if tensor.data is not None:
            np.testing.assert_array_equal(graph.tensors[name].data, tensor.data)


def _cli(argv):
    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    add_parser(parser.add_subparsers(), common)
    args = parser.parse_args(argv)
    return args.command(args)


def test_cli_writes_an_int8_model(keras_path, data, tmp_path, capsys):
    npz = tmp_path / "train.npz"
    np.savez(npz, x=data.x_train[:256], y=data.y_train[:256])
    out = tmp_path / "out.tflite"
    assert _cli(["qat", keras_path, "--data", str(npz), "--labels", "--epochs", "1",
                 "--learning-rate", "1e-3", "--validation-split", "0.25", "-o",
                 str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert run(out.read_bytes(), data.x_test[:4]).shape == (4, 10)


def test_cli_bad_data_writes_nothing(keras_path, tmp_path):
    npz = tmp_path / "train.npz"
    np.savez(npz, x=np.zeros((4, 8, 8, 1), np.float32))
    out = tmp_path / "out.tflite"
    with pytest.raises(QuantizationError, match="'y'"):
        _cli(["qat", keras_path, "--data", str(npz), "--labels", "-o", str(out)])
    assert not out.exists()


def test_training_follows_device_scopes():
    """`edgeport.device` scopes place training as they place the jax backend's ops: a device
    jax has is used; one it lacks falls back with a warning (soft placement) or raises."""
    import edgeport
    from edgeport.frontends.keras import load_keras
    from edgeport.runtime.placement import PlacementError

    model = qat.prepare(load_keras(mlp()))
    x = np.ones((8, 20), np.float32)
    with edgeport.device("/CPU:0"):
        model.fit(x, epochs=1, verbose=0)
        assert all(d.platform == "cpu" for p in model.params.values() for d in p.devices())
    with edgeport.device("/GPU:7"), pytest.warns(RuntimeWarning, match="no device /device:GPU:7"):
        model.predict(x)
    edgeport.config.set_soft_device_placement(False)
    try:
        with edgeport.device("/GPU:7"), pytest.raises(PlacementError):
            model.predict(x)
    finally:
        edgeport.config.set_soft_device_placement(True)
