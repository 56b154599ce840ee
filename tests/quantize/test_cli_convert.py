"""`edgeport convert --quantize ...`: each mode writes the model LiteRT runs, and every misuse
exits 1 with one line naming the problem and leaves no file behind."""

import numpy as np
import pytest

from edgeport.cli import main
from edgeport.examples import digits_calibration_images, digits_test_split, trained_digits_model_path
from edgeport.frontends.tflite import read_tflite
from tests.oracles.litert import run_edgeport, run_litert


@pytest.fixture
def calibration(tmp_path):
    path = tmp_path / "calibration.npy"
    np.save(path, digits_calibration_images()[:32])
    return path


def convert(tmp_path, *options):
    out = tmp_path / "out.tflite"
    code = main(["convert", str(trained_digits_model_path()), "-o", str(out), *options])
    return code, out


@pytest.mark.parametrize("mode, weight_dtype", [("dynamic", np.int8), ("float16", np.float16)])
def test_weight_quantization_modes(tmp_path, mode, weight_dtype):
    code, out = convert(tmp_path, "--quantize", mode)
    assert code == 0
    graph = read_tflite(out)
    assert any(t.data is not None and t.dtype == weight_dtype for t in graph.tensors.values())
    float_dir = tmp_path / "float"
    float_dir.mkdir()
    float_code, float_out = convert(float_dir)
    assert float_code == 0 and out.stat().st_size < 0.6 * float_out.stat().st_size
    x = digits_test_split()[0][:16]
    (want,), (got,) = run_litert(out.read_bytes(), [x]), run_edgeport(out.read_bytes(), [x])
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("io_type, dtype", [("float32", np.float32), ("int8", np.int8),
                                            ("uint8", np.uint8)])
def test_int8_with_calibration_data(tmp_path, calibration, io_type, dtype):
    code, out = convert(tmp_path, "--quantize", "int8", "--calibration-data", str(calibration),
                        "--calibration-method", "percentile:99.99", "--io-type", io_type,
                        "--integer-only")
    assert code == 0
    graph = read_tflite(out)
    assert graph.tensors[graph.inputs[0]].dtype == dtype
    rng = np.random.default_rng(0)
    x = (digits_test_split()[0][:8] if dtype == np.float32 else
         rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max + 1, (8, 8, 8, 1)).astype(dtype))
    (want,), (got,) = run_litert(out.read_bytes(), [x]), run_edgeport(out.read_bytes(), [x])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("options, message", [
    (["--quantize", "int8"], "needs --calibration-data"),
    (["--io-type", "int8"], "need --quantize int8"),
    (["--quantize", "float16", "--calibration-data", "x.npy"], "apply to --quantize int8"),
    (["--quantize", "int8", "--calibration-data", "missing.npy"], "missing.npy"),
])
def test_misuse_is_one_line_and_writes_nothing(tmp_path, capsys, options, message):
    code, out = convert(tmp_path, *options)
    err = capsys.readouterr().err
    assert code == 1 and message in err and err.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob(".out.tflite.*"))


def test_calibration_data_of_the_wrong_shape(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((4, 5, 5, 1), np.float32))
    code, out = convert(tmp_path, "--quantize", "int8", "--calibration-data", str(bad))
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("edgeport: error:") and "shape" in err
    assert not out.exists()
