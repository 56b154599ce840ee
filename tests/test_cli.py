"""The ``edgeport`` command: inspect, run and bench on small ADD models, and its error contract
(one line on stderr, exit 1, no traceback unless --debug; usage errors exit 2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeport import ModelFormatError, __version__
from edgeport.cli import main
from edgeport.export.tflite import save_tflite
from edgeport.graph import Graph, Op, QuantParams, Signature, Tensor
from tests.opmodels import Input, op_graph
from tests.oracles.litert import run_edgeport, run_litert


def two_adds() -> Graph:
    """``sum[0] = x + y; out:0 = relu(sum[0] + bias)`` with a dynamic batch, a signature,
    metadata, and two unused quantized constants for inspect to describe. The names hold
    brackets and a colon, which a table printer must not take for markup."""
    g = Graph(name="main")
    g.add_tensor(Tensor("x", (-1, 3, 4), np.float32))
    g.add_tensor(Tensor("y", (1, 3, 4), np.float32))
    g.add_tensor(Tensor("bias", (4,), np.float32, np.array([0.5, -1, 2, -3], np.float32)))
    g.add_tensor(Tensor("sum[0]", (-1, 3, 4), np.float32))
    g.add_tensor(Tensor("out:0", (-1, 3, 4), np.float32))
    g.add_tensor(Tensor("w_axis", (2, 4), np.int8, np.ones((2, 4), np.int8),
                        QuantParams([0.25, 0.125], [0, 0])))
    g.add_tensor(Tensor("w_tensor", (3,), np.int8, np.ones(3, np.int8), QuantParams(0.5, 3)))
    g.inputs, g.outputs = ["x", "y"], ["out:0", "sum[0]"]
    g.add_op(Op("ADD", ["x", "y"], ["sum[0]"], {"fused_activation_function": "NONE"}))
    g.add_op(Op("ADD", ["sum[0]", "bias"], ["out:0"], {"fused_activation_function": "RELU"}))
    g.signatures = [Signature("serving_default", {"a": "x", "b": "y"}, {"z": "out:0"})]
    g.metadata = {"min_runtime_version": b"1.5.0"}
    return g


@pytest.fixture(autouse=True)
def _plain_console(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)  # tables at the piped width, never wrapped


@pytest.fixture
def model(tmp_path) -> Path:
    path = tmp_path / "two_adds.tflite"
    save_tflite(two_adds(), path)
    return path


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(out: str) -> list[list[str]]:
    """The cells of every table body line (rich draws them between '│' borders)."""
    return [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in out.splitlines() if line.startswith("│")]


def save_npy(path: Path, value) -> Path:
    np.save(path, value)
    return path


# -- inspect ----------------------------------------------------------------------------------
def test_inspect_describes_ops_tensors_and_model(model, capsys):
    code, out, err = cli(capsys, "inspect", model)
    assert code == 0 and err == ""
    rows = table_rows(out)
    assert ["0", "ADD", "x [-1, 3, 4]", "sum[0] [-1, 3, 4]",
            "fused_activation_function=NONE"] in rows
    assert ["1", "ADD", "sum[0] [-1, 3, 4]", "out:0 [-1, 3, 4]",
            "fused_activation_function=RELU"] in rows
    assert ["", "", "bias [4]", "", "pot_scale_int16=True"] in rows  # second lines of op 1
    tensors = {row[1]: row for row in rows if len(row) == 7}
    assert tensors["x"] == ["0", "x", "[-1, 3, 4]", "float32", "-", "48", "input"]
    assert tensors["bias"] == ["2", "bias", "[4]", "float32", "-", "16", "const"]
    assert tensors["out:0"][6] == "output" and tensors["sum[0]"][6] == "output"
    assert tensors["w_axis"][2:7] == ["[2, 4]", "int8", "per-axis (2), dim 0", "8", "const"]
    assert tensors["w_tensor"][4] == "scale 0.5, zp 3"
    assert f"{os.path.getsize(model):,} bytes" in out
    assert "serving_default (subgraph 0): inputs a=x, b=y; outputs z=out:0" in out
    assert "min_runtime_version (5 bytes)" in out
    assert "0: main  2 ops, 7 tensors" in out


def test_inspect_counts_ops_and_weights(model, capsys):
    code, out, _ = cli(capsys, "inspect", model)
    rows = table_rows(out)
    assert code == 0
    assert ["ADD", "2"] in rows
    assert ["float32", "1", "4", "16"] in rows
    assert ["int8", "2", "11", "11"] in rows
    assert ["total", "3", "15", "27"] in rows


def test_inspect_lists_every_subgraph(tmp_path, capsys):
    graph = op_graph("ADD", [Input((2,)), Input((2,))])
    body = op_graph("ADD", [Input((5, 6)), Input((6,))])
    body.name = "body"
    graph.subgraphs = [body]
    path = tmp_path / "two_subgraphs.tflite"
    save_tflite(graph, path)
    code, out, _ = cli(capsys, "inspect", path)
    assert code == 0
    assert "subgraph 1 'body': ops" in out and "1: body  1 ops, 3 tensors" in out
    assert ["0", "ADD", "in0 [5, 6]", "out0 [5, 6]", "fused_activation_function=NONE"] in (
        table_rows(out))
    assert ["ADD", "2"] in table_rows(out)


# -- run --------------------------------------------------------------------------------------
def test_run_writes_outputs_matching_interpreter_and_litert(model, tmp_path, capsys):
    rng = np.random.default_rng(3)
    x = rng.uniform(-3, 3, (2, 3, 4)).astype(np.float32)
    y = rng.uniform(-3, 3, (1, 3, 4)).astype(np.float32)
    npz = tmp_path / "out.npz"
    code, out, err = cli(capsys, "run", model, "--input", save_npy(tmp_path / "x.npy", x),
                         "--input", save_npy(tmp_path / "y.npy", y), "--output", npz)
    assert code == 0 and err == ""
    with np.load(npz) as saved:
        got = {name: saved[name] for name in saved.files}
    assert list(got) == ["out:0", "sum[0]"]
    model_bytes = model.read_bytes()
    for name, litert, ours in zip(["out:0", "sum[0]"], run_litert(model_bytes, [x, y]),
                                  run_edgeport(model_bytes, [x, y])):
        assert got[name].shape == litert.shape == (2, 3, 4)
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], ours)
        np.testing.assert_allclose(got[name], litert, rtol=1e-6, atol=1e-6)
        row = next(r for r in table_rows(out) if r[0] == name)
        assert row == [name, "[2, 3, 4]", "float32", f"{litert.min():.6g}",
                       f"{litert.max():.6g}", f"{litert.mean(dtype=np.float64):.6g}"]
    assert "inputs: x [2, 3, 4] float32, y [1, 3, 4] float32\n" in out
    assert f"wrote 2 output(s) to {npz}" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "out.npz", "two_adds.tflite", "x.npy", "y.npy"]  # no temporary file left behind


def test_run_random_is_seeded_and_batched(model, tmp_path, capsys):
    def run(seed, name):
        code, out, _ = cli(capsys, "run", model, "--random", "--seed", seed, "--batch", 3,
                           "--output", tmp_path / name)
        assert code == 0
        assert f"inputs: x [3, 3, 4] float32, y [3, 3, 4] float32 (random, seed {seed})" in out
        with np.load(tmp_path / name) as saved:
            return dict(saved)

    first, again, other = run(7, "a.npz"), run(7, "b.npz"), run(8, "c.npz")
    assert first["out:0"].shape == (3, 3, 4)
    np.testing.assert_array_equal(first["out:0"], again["out:0"])
    assert not np.array_equal(first["out:0"], other["out:0"])
    bias = np.array([0.5, -1, 2, -3], np.float32)
    np.testing.assert_array_equal(first["out:0"], np.maximum(first["sum[0]"] + bias, 0))


def test_run_random_int_inputs(tmp_path, capsys):
    path = tmp_path / "int_add.tflite"
    save_tflite(op_graph("ADD", [Input((2, 5), np.int32), Input((2, 5), np.int32)]), path)
    code, out, _ = cli(capsys, "run", path, "--random", "--output", tmp_path / "o.npz")
    assert code == 0
    with np.load(tmp_path / "o.npz") as saved:
        assert saved["out0"].dtype == np.int32 and saved["out0"].shape == (2, 5)
    assert ["out0", "[2, 5]", "int32"] == table_rows(out)[0][:3]


def test_run_on_the_jax_backend(model, tmp_path, capsys):
    code, out, err = cli(capsys, "run", model, "--random", "--batch", 2, "--backend", "jax",
                         "--device", "/CPU:0", "--output", tmp_path / "jax.npz")
    assert code == 0 and err == ""
    assert "backend jax (one device): 2 ops on /device:CPU:0 (jax)" in out
    assert cli(capsys, "run", model, "--random", "--batch", 2,
               "--output", tmp_path / "numpy.npz")[0] == 0
    with np.load(tmp_path / "jax.npz") as got, np.load(tmp_path / "numpy.npz") as want:
        for name in want.files:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-6)


def test_run_on_a_missing_device_falls_back_with_a_warning(model, capsys, caplog):
    code, out, _ = cli(capsys, "run", model, "--random", "--backend", "jax", "--device",
                       "/GPU:7")
    assert code == 0
    assert "no device /device:GPU:7" in caplog.text and "fall back to /device:CPU:0" in caplog.text
    assert "2 ops on /device:CPU:0 (jax)" in out


@pytest.mark.parametrize("args,message", [
    (["--device", "/CPU:0"], "--device and --strategy need --backend jax"),
    (["--strategy", "pipeline"], "--device and --strategy need --backend jax"),
])
def test_device_options_need_the_jax_backend(model, capsys, args, message):
    code, out, err = cli(capsys, "run", model, "--random", *args)
    assert code == 1 and err == f"edgeport: error: {message}\n"


@pytest.mark.parametrize("strategy", ["pipeline", "data_parallel"])
def test_run_with_a_strategy(model, tmp_path, capsys, strategy):
    code, out, err = cli(capsys, "run", model, "--random", "--batch", 4, "--backend", "jax",
                         "--strategy", strategy, "--output", tmp_path / "split.npz")
    assert code == 0
    assert f"--strategy {strategy} on one device (/device:CPU:0) splits nothing" in err
    assert f"backend jax ({strategy}" in out
    assert cli(capsys, "run", model, "--random", "--batch", 4,
               "--output", tmp_path / "whole.npz")[0] == 0
    with np.load(tmp_path / "split.npz") as got, np.load(tmp_path / "whole.npz") as want:
        for name in want.files:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-6)


def test_several_devices_need_a_strategy(model, capsys):
    code, _, err = cli(capsys, "run", model, "--random", "--backend", "jax",
                       "--device", "/CPU:0", "--device", "/GPU:0")
    assert code == 1 and "several --device need --strategy" in err


def test_device_names_are_checked(model, capsys):
    code, _, err = cli(capsys, "run", model, "--random", "--backend", "jax", "--device", "tpu")
    assert code == 2 and "'tpu' is not a device name" in err


# -- bench ------------------------------------------------------------------------------------
def test_bench_on_the_jax_backend(model, capsys):
    code, out, _ = cli(capsys, "bench", model, "--runs", 3, "--warmup", 1, "--backend", "jax")
    assert code == 0
    assert "backend jax (one device): 2 ops on /device:CPU:0 (jax)" in out
    assert "the first warmup run compiled it" in out and "numba" not in out
    code, _, err = cli(capsys, "bench", model, "--backend", "jax", "--profile")
    assert code == 1 and "--profile times the NumPy interpreter's ops" in err


def latency_row(out: str) -> list[float]:
    rows = table_rows(out)
    return [float(v) for v in rows[0]]


def test_bench_prints_latency_percentiles(model, capsys, monkeypatch):
    monkeypatch.delenv("EDGEPORT_NUMBA", raising=False)
    code, out, err = cli(capsys, "bench", model, "--runs", 7, "--warmup", 2, "--batch", 4)
    assert code == 0
    assert "7 runs after 2 warmup; numba's compiled loops on" in out
    assert "two_adds.tflite: 2 ops per run; inputs x [4, 3, 4] float32, y [4, 3, 4] float32" in out
    header = next(line for line in out.splitlines() if "p50" in line)
    for column in ("p50", "p90", "p99", "mean", "min", "max", "per image (batch 4)"):
        assert column in header
    p50, p90, p99, mean, low, high, per_image = latency_row(out)
    assert 0 < low <= p50 <= p90 <= p99 <= high and low <= mean <= high
    assert per_image == pytest.approx(mean / 4, rel=1e-3)
    # Off a terminal the progress bar is one summary line on stderr, counting warmup and
    # timed runs.
    assert err.startswith("bench: 9 runs in ")
    assert "time per op" not in out


def test_bench_profile_tables(model, capsys):
    code, out, _ = cli(capsys, "bench", model, "--runs", 5, "--profile")
    assert code == 0
    rows = table_rows(out)
    per_op = [row for row in rows if len(row) == 6]
    assert sorted((row[0], row[1], row[2]) for row in per_op) == [
        ("0", "ADD", "sum[0]"), ("1", "ADD", "out:0")]
    totals = [float(row[3]) for row in per_op]
    assert totals == sorted(totals, reverse=True)
    assert sum(float(row[5]) for row in per_op) == pytest.approx(100, abs=0.2)
    for row in per_op:
        assert float(row[3]) == pytest.approx(5 * float(row[4]), rel=1e-2)
    by_type = [row for row in rows if len(row) == 5]
    assert by_type[0][:2] == ["ADD", "2"] and by_type[0][4] == "100.0"
    assert "time per op type" in out


def test_bench_says_when_numba_is_off(model, capsys, monkeypatch):
    monkeypatch.setenv("EDGEPORT_NUMBA", "0")
    code, out, _ = cli(capsys, "bench", model, "--runs", 1, "--warmup", 0)
    assert code == 0
    assert "1 runs after 0 warmup; numba's compiled loops off (EDGEPORT_NUMBA=0)" in out


def test_bench_profile_top(model, capsys):
    code, out, _ = cli(capsys, "bench", model, "--runs", 2, "--warmup", 0, "--profile",
                       "--top", 1)
    assert code == 0
    assert "time per op (slowest 1 of 2)" in out
    assert len([row for row in table_rows(out) if len(row) == 6]) == 1


# -- errors -----------------------------------------------------------------------------------
def assert_one_line_error(code: int, err: str, *names):
    assert code == 1
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("edgeport: error: ") and "Traceback" not in err
    for name in names:
        assert str(name) in err


def bad_models(tmp_path, model) -> dict[str, Path]:
    text = tmp_path / "notes.tflite"
    text.write_text("these are notes, not a model\n")
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(model.read_bytes()[:len(model.read_bytes()) // 2])
    return {"missing": tmp_path / "missing.tflite", "text": text, "truncated": truncated}


@pytest.mark.parametrize("kind", ["missing", "text", "truncated"])
@pytest.mark.parametrize("command", [["inspect"], ["run", "--random"], ["bench", "--runs", "1"]])
def test_bad_model_gives_one_line(tmp_path, model, capsys, kind, command):
    path = bad_models(tmp_path, model)[kind]
    code, out, err = cli(capsys, command[0], path, *command[1:])
    assert_one_line_error(code, err, path)
    assert out == ""


def test_truncated_anywhere_gives_one_line(tmp_path, model, capsys):
    data = model.read_bytes()
    path = tmp_path / "cut.tflite"
    for size in range(0, len(data), 37):
        path.write_bytes(data[:size])
        code, _, err = cli(capsys, "inspect", path)
        assert_one_line_error(code, err, path)


@pytest.mark.parametrize("case", ["dtype", "shape", "rank", "text", "npz", "truncated",
                                  "missing", "objects"])
def test_bad_input_npy_gives_one_line(tmp_path, model, capsys, case):
    good_y = save_npy(tmp_path / "y.npy", np.zeros((1, 3, 4), np.float32))
    bad = tmp_path / f"{case}.npy"
    if case == "dtype":
        np.save(bad, np.zeros((1, 3, 4), np.float64))
    elif case == "shape":
        np.save(bad, np.zeros((1, 3, 5), np.float32))
    elif case == "rank":
        np.save(bad, np.zeros((3, 4), np.float32))
    elif case == "text":
        bad.write_text("1 2 3\n")
    elif case == "npz":
        with open(bad, "wb") as f:
            np.savez(f, x=np.zeros((1, 3, 4), np.float32))
    elif case == "truncated":
        np.save(bad, np.zeros((1, 3, 4), np.float32))
        bad.write_bytes(bad.read_bytes()[:-8])
    elif case == "objects":
        np.save(bad, np.array([{}, None], dtype=object), allow_pickle=True)
    code, out, err = cli(capsys, "run", model, "--input", bad, "--input", good_y)
    assert_one_line_error(code, err, bad)
    if case == "dtype":
        assert "float32" in err and "float64" in err
    if case == "shape":
        assert "[-1, 3, 4]" in err and "[1, 3, 5]" in err


def test_wrong_number_of_inputs(model, tmp_path, capsys):
    x = save_npy(tmp_path / "x.npy", np.zeros((1, 3, 4), np.float32))
    code, _, err = cli(capsys, "run", model, "--input", x)
    assert_one_line_error(code, err, model, "2 input(s) (x, y)")


def test_unwritable_output_leaves_nothing(model, tmp_path, capsys):
    (tmp_path / "a_file").write_text("mine")  # where the output's folder would have to be
    target = tmp_path / "a_file" / "out.npz"
    code, _, err = cli(capsys, "run", model, "--random", "--output", target)
    assert_one_line_error(code, err, target)
    assert (tmp_path / "a_file").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "two_adds.tflite"]


def test_debug_shows_the_exception(tmp_path, capsys):
    with pytest.raises(ModelFormatError, match="missing.tflite"):
        main(["--debug", "inspect", str(tmp_path / "missing.tflite")])
    with pytest.raises(ModelFormatError):
        main(["inspect", str(tmp_path / "missing.tflite"), "--debug"])


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["run", "m.tflite"], ["run", "m.tflite", "--random", "--input", "x.npy"],
    ["run", "m.tflite", "--input", "x.npy", "--batch", "2"], ["bench", "m.tflite", "--runs", "0"],
    ["bench", "m.tflite", "--warmup", "-1"], ["run", "m.tflite", "--random", "--batch", "two"],
])
def test_usage_errors_exit_2(capsys, args):
    code, out, err = cli(capsys, *args)
    assert code == 2 and "usage: edgeport" in err and "Traceback" not in err


def test_version_and_help(capsys):
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.strip() == f"edgeport {__version__}"
    code, out, _ = cli(capsys, "--help")
    assert code == 0 and all(command in out for command in ("inspect", "run", "bench"))


# -- the installed command --------------------------------------------------------------------
def console_script() -> str:
    found = shutil.which("edgeport", path=str(Path(sys.executable).parent)) or shutil.which(
        "edgeport")
    if found is None:
        pytest.fail("the edgeport console script is not installed: pip install -e .")
    return found


def test_console_script(model, tmp_path):
    script = console_script()
    ok = subprocess.run([script, "inspect", str(model)], capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "sum[0] [-1, 3, 4]" in ok.stdout
    missing = tmp_path / "missing.tflite"
    bad = subprocess.run([script, "bench", str(missing)], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr == f"edgeport: error: {missing}: cannot read the file (No such file or " \
                         "directory)\n"
    debug = subprocess.run([script, "--debug", "inspect", str(missing)], capture_output=True,
                           text=True, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_import_stays_light():
    code = ("import sys, edgeport.cli; "
            "print(sorted(m for m in ('numpy', 'rich', 'tqdm') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"

