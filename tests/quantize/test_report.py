"""The quantization report (edgeport.quantize.report, `edgeport compare`) and the chapter's story
on the built-in digits model."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pytest

from edgeport.examples import (
    digits_calibration_images,
    digits_test_split,
    trained_digits_model_path,
)
from edgeport.export.tflite import write_tflite
from edgeport.frontends.tflite import read_tflite
from edgeport.lite import Interpreter, Optimize, TFLiteConverter
from edgeport.quantize.report import compare, match_tensors, variants
from tests.opmodels import Input, op_graph

IMAGES, LABELS = digits_test_split()
DATA = IMAGES[:120]


def _convert(**settings) -> bytes:
    converter = TFLiteConverter.from_keras_file(trained_digits_model_path())
    for attr, value in settings.items():
        setattr(converter, attr, value)
    return converter.convert()


@pytest.fixture(scope="module")
def models():
    calibration = digits_calibration_images()[:100]
    int8 = dict(optimizations=[Optimize.DEFAULT], calibration_progress=False,
                representative_dataset=lambda: ([x[None]] for x in calibration))
    return {"float": _convert(), "dynamic": _convert(optimizations=[Optimize.DEFAULT]),
            "int8": _convert(**int8),
            "int8_io": _convert(**int8, inference_input_type=np.int8,
                                inference_output_type=np.int8)}


def _outputs(model: bytes, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
    """The model's output on ``x``, run ``batch_size`` samples at a time (all at once by
    default): float kernels may round differently at another batch size."""
    if batch_size is not None:
        return np.concatenate([_outputs(model, x[i:i + batch_size])
                               for i in range(0, len(x), batch_size)])
    it = Interpreter(model_content=model)
    (inp,), (out,) = it.get_input_details(), it.get_output_details()
    it.resize_tensor_input(inp["index"], x.shape)
    it.allocate_tensors()
    if inp["dtype"] == np.int8:
        scale, zero_point = inp["quantization"]
        x = np.clip(np.round(x / scale) + zero_point, -128, 127).astype(np.int8)
    it.set_tensor(inp["index"], x)
    it.invoke()
    y = it.get_tensor(out["index"])
    if y.dtype == np.int8:
        scale, zero_point = out["quantization"]
        y = (y.astype(np.float32) - zero_point) * scale
    return y


def _sqnr(want, got) -> float:
    want, got = want.astype(np.float64), got.astype(np.float64)
    return 10 * np.log10(np.sum(want ** 2) / np.sum((got - want) ** 2))


def test_int8_every_float_activation_matched_worst_first(models):
    report = compare(models["float"], models["int8"], DATA, batch_size=50)
    float_graph = read_tflite(models["float"])
    activations = [n for n in [*float_graph.inputs, *(o for op in float_graph.ops
                                                      for o in op.outputs)]
                   if float_graph.tensors[n].dtype == np.float32]
    assert sorted(r.tensor for r in report.rows) == sorted(activations)
    assert [r.sqnr_db for r in report.rows] == sorted(r.sqnr_db for r in report.rows)
    # Inside the integer graph every compared tensor is int8, dequantized with its params:
    # the input's QUANTIZE output and the output before its DEQUANTIZE stand for the float
    # tensors.
    assert {r.dtype for r in report.rows} == {"int8"}
    assert all(20 < r.sqnr_db < 60 and r.scale > 0 for r in report.rows)
    assert report.rows[0].max_abs_error > 0
    by_tensor = {r.tensor: r for r in report.rows}
    assert by_tensor["image"].op == "input" and by_tensor["image"].layer == "input image"
    assert by_tensor["block1_relu/relu"].op == "CONV_2D"
    # The output's SQNR is the one of the two models' outputs, computed independently.
    (out,) = report.outputs
    want, got = _outputs(models["float"], DATA, 50), _outputs(models["int8"], DATA, 50)
    assert out.sqnr_db == pytest.approx(_sqnr(want, got), abs=1e-6)
    assert out.max_abs_error == pytest.approx(float(np.max(np.abs(got - want))), abs=1e-6)
    assert report.top1_agreement == np.mean(want.argmax(1) == got.argmax(1))
    assert report.samples == len(DATA)


def test_integer_io_model_is_fed_quantized_data(models):
    report = compare(models["float"], models["int8_io"], DATA)
    (out,) = report.outputs
    want, got = _outputs(models["float"], DATA, 64), _outputs(models["int8_io"], DATA, 64)
    assert out.sqnr_db == pytest.approx(_sqnr(want, got), abs=1e-6)
    assert next(r for r in report.rows if r.op == "input").dtype == "int8"


def test_weights_only_rows_are_float_and_first_layer_exact(models):
    report = compare(models["float"], models["dynamic"], DATA)
    assert {r.dtype for r in report.rows} == {"float32"}
    by_tensor = {r.tensor: r for r in report.rows}
    # block1's 144 weights stay float (under the 1024-element threshold): no error there.
    assert by_tensor["block1_relu/relu"].sqnr_db == np.inf
    assert 30 < by_tensor["dense/relu"].sqnr_db < 70
    assert "exact" in _text(report.to_table())


def test_sqnr_arithmetic_on_one_op():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    weights = rng.standard_normal((3, 6)).astype(np.float32)
    noise = (0.01 * rng.standard_normal((3, 6))).astype(np.float32)
    attrs = dict(fused_activation_function="NONE", keep_num_dims=False)
    a = write_tflite(op_graph("FULLY_CONNECTED", [Input((1, 6)), weights, None], attrs))
    b = write_tflite(op_graph("FULLY_CONNECTED", [Input((1, 6)), weights + noise, None], attrs))
    report = compare(a, b, x, batch_size=7)  # batches of 7: sums accumulate across batches
    row = next(r for r in report.rows if r.op == "FULLY_CONNECTED")
    want, got = x @ weights.T, x @ (weights + noise).T
    assert row.sqnr_db == pytest.approx(_sqnr(want, got), rel=1e-4)
    assert row.max_abs_error == pytest.approx(float(np.abs(got - want).max()), rel=1e-4)
    assert row.scale is None and row.layer == "out0"


def test_renamed_tensors_are_matched_by_op_order(models):
    graph = read_tflite(models["int8"])
    by_name = match_tensors(read_tflite(models["float"]), read_tflite(models["int8"]))
    renamed = {name: f"t{i}" for i, name in enumerate(graph.tensors)}
    for name, tensor in list(graph.tensors.items()):
        tensor.name = renamed[name]
    graph.tensors = {renamed[n]: t for n, t in graph.tensors.items()}
    for op in graph.ops:
        op.inputs = [renamed.get(n) if n else n for n in op.inputs]
        op.outputs = [renamed[n] for n in op.outputs]
    graph.inputs = [renamed[n] for n in graph.inputs]
    graph.outputs = [renamed[n] for n in graph.outputs]
    for sig in graph.signatures:
        sig.inputs = {k: renamed[v] for k, v in sig.inputs.items()}
        sig.outputs = {k: renamed[v] for k, v in sig.outputs.items()}
    pairs = match_tensors(read_tflite(models["float"]), graph)
    # Every op's output and the input pair as by name (the input with its QUANTIZE output).
    assert pairs == {f: renamed[q] for f, q in by_name.items()}
    report = compare(models["float"], write_tflite(graph), DATA)
    original = compare(models["float"], models["int8"], DATA)
    assert [r.sqnr_db for r in report.rows] == [r.sqnr_db for r in original.rows]


def test_unrelated_models_and_bad_data_are_refused(models):
    attrs = dict(fused_activation_function="NONE", keep_num_dims=False)
    other = write_tflite(op_graph("FULLY_CONNECTED", [Input((1, 64)), np.ones((3, 64),
                                                                             np.float32), None],
                                  attrs))
    with pytest.raises(ValueError, match="no tensor matches"):
        compare(models["float"], other, DATA)
    with pytest.raises(ValueError, match="at least one sample"):
        compare(models["float"], models["int8"], DATA[:0])


def test_plot_writes_a_png(models, tmp_path):
    report = compare(models["float"], models["int8"], DATA[:20])
    path = report.plot(tmp_path / "sqnr.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_so(models, tmp_path, monkeypatch):
    report = compare(models["float"], models["int8"], DATA[:5])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="needs matplotlib"):
        report.plot(tmp_path / "sqnr.png")
    assert not (tmp_path / "sqnr.png").exists()


def test_variants_size_accuracy_latency(models):
    rows = variants({"float": models["float"], "int8": models["int8_io"]}, IMAGES, LABELS,
                    runs=3)
    assert [r.bytes for r in rows] == [len(models["float"]), len(models["int8_io"])]
    for row, name in zip(rows, ("float", "int8_io")):
        predicted = _outputs(models[name], IMAGES).argmax(1)
        assert row.accuracy == np.mean(predicted == LABELS)
        assert row.latency_ms["edgeport"] > 0


def _compare_args(*argv):
    from edgeport.cli.compare import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(), argparse.ArgumentParser(add_help=False))
    return parser.parse_args(["compare", *argv])


def test_cli_compare(models, tmp_path, capsys):
    for name in ("float", "int8"):
        (tmp_path / f"{name}.tflite").write_bytes(models[name])
    np.save(tmp_path / "x.npy", DATA)
    np.save(tmp_path / "y.npy", LABELS[:len(DATA)])
    args = _compare_args(str(tmp_path / "float.tflite"), str(tmp_path / "int8.tflite"),
                         "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
                         "--top", "3")
    assert args.command(args) == 0
    out = capsys.readouterr().out
    worst = compare(models["float"], models["int8"], DATA).rows[0]
    assert worst.layer in out and "3 more" not in out and "more layers not shown" in out
    assert "top-1 agreement" in out and "accuracy" in out and "quantized" in out


def test_cli_compare_bad_labels(models, tmp_path):
    from edgeport.cli import CommandError

    (tmp_path / "m.tflite").write_bytes(models["float"])
    np.save(tmp_path / "x.npy", DATA)
    np.save(tmp_path / "y.npy", np.zeros(3, np.int64))
    args = _compare_args(str(tmp_path / "m.tflite"), str(tmp_path / "m.tflite"), "--data",
                         str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"))
    with pytest.raises(CommandError, match="labels must be 120 integers"):
        args.command(args)


def test_chapter_story(tmp_path):
    from io import StringIO

    from rich.console import Console

    from edgeport.quantize.story import chapter_story

    text = StringIO()
    rows = chapter_story(tmp_path, console=Console(file=text, width=200), runs=3)
    by_name = {r.name: r for r in rows}
    assert list(by_name) == ["float", "weights-only int8", "float16", "int8"]
    files = sorted(p.name for p in tmp_path.glob("*.tflite"))
    assert len(files) == 4
    for row in rows:
        assert row.bytes == (tmp_path / f"digits_{row.name.replace(' ', '_').replace('-', '_')}"
                                        ".tflite").stat().st_size
    base = by_name["float"]
    # The accuracy targets: int8 within 1 point, weights-only and float16 within 0.5.
    assert by_name["int8"].accuracy >= base.accuracy - 0.01
    assert by_name["weights-only int8"].accuracy >= base.accuracy - 0.005
    assert by_name["float16"].accuracy >= base.accuracy - 0.005
    assert by_name["float16"].bytes < base.bytes / 1.8
    assert by_name["int8"].bytes < base.bytes / 2.5
    assert by_name["weights-only int8"].bytes < base.bytes / 2.5
    int8 = Interpreter(model_path=str(tmp_path / "digits_int8.tflite"))
    assert {op.type for op in int8.graph.ops} & {"QUANTIZE", "DEQUANTIZE"} == set()
    assert "four ways" in text.getvalue() and "float16" in text.getvalue()


def _text(table) -> str:
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    Console(file=out, width=200).print(table)
    return out.getvalue()
