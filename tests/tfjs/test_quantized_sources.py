"""Quantized .tflite files given to export_web: full-integer int8 (float or int8 I/O),
dynamic-range (int8 weights behind DEQUANTIZE, or read by TF's hybrid kernels) and float16
weights. TF.js has no integer kernels, so the bundle is the float32 graph the model approximates
(passes.dequantize), it runs in @tensorflow/tfjs, and export_web says so."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeport.errors import UnsupportedOpError
from edgeport.examples import (digits_calibration_images, digits_test_split,
                               trained_digits_model_path)
from edgeport.export.tflite import save_tflite
from edgeport.export.tfjs import export_web
from edgeport.frontends.tflite import read_tflite
from edgeport.graph import Graph, Op, Tensor
from edgeport.lite import Optimize, TFLiteConverter
from edgeport.ops.affine import dequantize, quantize
from edgeport.passes.dequantize import dequantize_graph, is_quantized
from tests.oracles.litert import run_litert
from tests.quantmodels import QInput, qp, quant_graph
from tests.tfjs.helpers import assert_close, run_edgeport, run_tfjs

IMAGES = digits_test_split()[0][:64]
DATA = Path(__file__).resolve().parents[1] / "data"
INT8 = ("int8_float_io", "int8_io", "official_int8", "shared_int8", "round_trip")
STEPS = 3  # how many output quantization steps TF.js may be from the int8 model


def convert(supported_types=(), **options) -> bytes:
    """The shipped digits CNN (.keras) through edgeport.lite.TFLiteConverter, optimized."""
    converter = TFLiteConverter.from_keras_file(trained_digits_model_path())
    converter.optimizations = [Optimize.DEFAULT]
    converter.target_spec.supported_types = set(supported_types)
    for name, value in options.items():
        setattr(converter, name, value)
    return converter.convert()


def calibration():
    return ([image[None]] for image in digits_calibration_images()[:50])


def small_int8_graph(name: str, ops: list[tuple], quants: dict, outputs: list[str]) -> Graph:
    """[1, 16] float ``x`` through ``ops`` ((type, inputs, outputs)); tensors in ``quants``
    are int8 with those parameters, the others float32."""
    graph = Graph(name=name)
    for _, inputs, outs in ops:
        for tensor in (*inputs, *outs):
            quant = quants.get(tensor)
            graph.tensors.setdefault(tensor, Tensor(tensor, (1, 16), np.int8 if quant else
                                                    np.float32, quant=quant))
    graph.ops = [Op(op_type, list(inputs), list(outs)) for op_type, inputs, outs in ops]
    graph.inputs, graph.outputs = ["x"], outputs
    return graph


def shared_int8_graph() -> Graph:
    """int8 RELU whose result is both graph output "relu" (through a DEQUANTIZE) and read by
    an int8 TANH (output "tanh"): dequantized, RELU must write "relu" and TANH read it."""
    act = qp(0.01, -10)
    return small_int8_graph("shared", [
        ("QUANTIZE", ["x"], ["q"]), ("RELU", ["q"], ["r"]), ("DEQUANTIZE", ["r"], ["relu"]),
        ("TANH", ["r"], ["t"]), ("DEQUANTIZE", ["t"], ["tanh"])],
        {"q": act, "r": act, "t": qp(1 / 128, 0)}, ["relu", "tanh"])


def round_trip_graph() -> Graph:
    """QUANTIZE then DEQUANTIZE: dequantized, an identity from the graph input to its output,
    which no op removal can keep names for."""
    return small_int8_graph("round_trip", [("QUANTIZE", ["x"], ["q"]),
                                           ("DEQUANTIZE", ["q"], ["y"])],
                            {"q": qp(0.01, -10)}, ["y"])


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Every kind of quantized .tflite: edgeport's converter on the digits CNN, TF's own
    converter on the same model (tests/data/make_official_models.py), hand-made graphs."""
    root = tmp_path_factory.mktemp("quantized")
    int8 = dict(representative_dataset=calibration)
    models = {"int8_float_io": convert(**int8),
              "int8_io": convert(**int8, inference_input_type=np.int8,
                                 inference_output_type=np.int8),
              "dynamic": convert(), "float16": convert(supported_types=[np.float16])}
    paths = {}
    for name, model in models.items():
        paths[name] = root / f"{name}.tflite"
        paths[name].write_bytes(model)
    for name in ("int8", "dynamic"):  # TF's hybrid CONV_2D/FULLY_CONNECTED in "dynamic"
        paths[f"official_{name}"] = DATA / f"official_digits_{name}.tflite"
    for name, graph in (("shared_int8", shared_int8_graph()), ("round_trip", round_trip_graph())):
        paths[name] = root / f"{name}.tflite"
        save_tflite(graph, paths[name])
    return paths


def float_inputs(name: str) -> list[np.ndarray]:
    """The real-valued inputs of source ``name`` (TF.js takes them even for int8 inputs)."""
    if name in ("shared_int8", "round_trip"):
        return [np.random.default_rng(0).uniform(-1, 1, (1, 16)).astype(np.float32)]
    return [IMAGES]


@pytest.fixture(scope="module")
def bundles(sources, tmp_path_factory) -> dict[str, dict]:
    """Each source exported and run in TF.js (one Node process): {summary, model, demo,
    outputs}."""
    root = tmp_path_factory.mktemp("quantized_web")
    results, jobs = {}, []
    for name, path in sources.items():
        out = root / name
        summary = export_web(path, out)
        model = json.loads((out / "model.json").read_text())
        results[name] = {"summary": summary, "model": model,
                         "demo": json.loads((out / "demo.json").read_text())}
        jobs.append((out, list(zip(model["signature"]["inputs"], float_inputs(name)))))
    for name, run in zip(sources, run_tfjs(jobs)):
        results[name]["outputs"] = run["outputs"]
    return results


@pytest.mark.parametrize("name", ["int8_float_io", "int8_io", "dynamic", "float16",
                                  "official_int8", "official_dynamic", "shared_int8"])
def test_tfjs_runs_the_dequantized_float_graph(name, sources, bundles):
    graph = dequantize_graph(read_tflite(sources[name]))
    assert not any(is_quantized(t) for t in graph.tensors.values())
    assert not {"QUANTIZE", "DEQUANTIZE"} & {op.type for op in graph.ops}
    bundle = bundles[name]
    signature = bundle["model"]["signature"]
    assert {t["dtype"] for part in signature.values() for t in part.values()} == {"DT_FLOAT"}
    assert {io["dtype"] for io in bundle["demo"]["inputs"] + bundle["demo"]["outputs"]} == {
        "float32"}
    want = run_edgeport(graph, float_inputs(name))
    assert len(bundle["outputs"]) == len(want)
    for got, expected in zip(bundle["outputs"], want):
        assert_close(got, expected, rel=1e-4, what=name)


def test_a_quantize_dequantize_round_trip_is_an_identity(sources, bundles):
    graph = dequantize_graph(read_tflite(sources["round_trip"]))
    assert [(op.type, op.inputs, op.outputs) for op in graph.ops] == [("DEQUANTIZE", ["x"], ["y"])]
    (got,) = bundles["round_trip"]["outputs"]
    np.testing.assert_array_equal(got, float_inputs("round_trip")[0])


@pytest.mark.parametrize("name", INT8)
def test_tfjs_is_within_a_few_steps_of_the_int8_model(name, sources, bundles):
    """LiteRT's reference kernels run the int8 model on the quantized inputs; its outputs,
    dequantized, are within STEPS output quantization steps of TF.js's."""
    graph = read_tflite(sources[name])
    specs = [graph.tensors[n] for n in graph.inputs]
    inputs = [quantize(x, t.quant, t.dtype) if t.quant is not None else x
              for x, t in zip(float_inputs(name), specs)]
    outputs = run_litert(sources[name].read_bytes(), inputs)
    for got, q, out in zip(bundles[name]["outputs"], outputs, graph.outputs):
        step, quant = output_quant(graph, out)
        want = dequantize(q, quant) if q.dtype != np.float32 else q
        assert np.max(np.abs(got - want)) <= STEPS * step, name
        assert np.max(np.abs(want)) > 10 * step  # the outputs are not all (near) zero


def output_quant(graph: Graph, name: str):
    """(scale, QuantParams) of output ``name``, or of the int8 tensor its DEQUANTIZE reads."""
    tensor = graph.tensors[name]
    if tensor.quant is None:
        producer = graph.producers()[name]
        assert producer.type == "DEQUANTIZE"
        tensor = graph.tensors[producer.inputs[0]]
    return float(tensor.quant.scale[0]), tensor.quant


@pytest.mark.parametrize("name", ["dynamic", "float16", "official_dynamic"])
def test_weight_only_models_match_litert(name, sources, bundles):
    """Float activations: TF.js gives what LiteRT gives (TF's hybrid kernels quantize each
    input row on the fly, so "official_dynamic" agrees to 1e-3 of the output's scale)."""
    (want,) = run_litert(sources[name].read_bytes(), [IMAGES])
    (got,) = bundles[name]["outputs"]
    assert_close(got, want, rel=1e-3 if name == "official_dynamic" else 1e-4, what=name)


def test_the_note_names_the_file_and_what_changed(sources, bundles):
    notes = {name: bundle["demo"]["note"] for name, bundle in bundles.items()}
    for name, note in notes.items():
        assert note.startswith(f"{sources[name]} "), note
        assert "float32" in note
    for name in INT8:
        assert "computes in int8" in notes[name] and "not bit-exact" in notes[name]
        assert "--quantize uint8" in notes[name]
    assert "input 'image' and output" in notes["int8_io"]
    assert "input" not in notes["int8_float_io"]
    assert "stores int8 weights" in notes["dynamic"] and "--quantize uint8" in notes["dynamic"]
    assert "stores float16 weights" in notes["float16"]
    assert "--quantize float16" in notes["float16"]
    assert all(b["summary"]["note"] == notes[n] for n, b in bundles.items())


def test_float_models_get_no_note(tmp_path):
    model = tmp_path / "float.tflite"
    model.write_bytes(TFLiteConverter.from_keras_file(trained_digits_model_path()).convert())
    summary = export_web(model, tmp_path / "web")
    assert summary.get("note") is None
    assert "note" not in json.loads((tmp_path / "web" / "demo.json").read_text())


def cast_of_int8(tmp_path) -> Path:
    """A CAST of an int8 tensor: LiteRT casts the stored integers, not the real values."""
    path = tmp_path / "cast.tflite"
    save_tflite(quant_graph("CAST", [QInput((1, 4), quant=qp(0.5, 3))],
                            outputs=[(np.float32, None)]), path)
    return path


def test_cast_of_stored_integers_is_refused(tmp_path):
    path = cast_of_int8(tmp_path)
    with pytest.raises(UnsupportedOpError) as error:
        export_web(path, tmp_path / "web")
    message = str(error.value)
    assert message.startswith(f"{path}: CAST") and "export the float model" in message
    assert not (tmp_path / "web").exists()
    assert run_litert(path.read_bytes(), [np.array([[1, 2, 3, 4]], np.int8)])[0].tolist() == [
        [1.0, 2.0, 3.0, 4.0]]  # the stored integers: no float op of the real values gives these


def edgeport_command(*args) -> subprocess.CompletedProcess:
    code = "import sys; from edgeport.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_cli_prints_the_note_or_one_line_refusal(sources, tmp_path):
    done = edgeport_command("export-web", sources["int8_io"], "-o", tmp_path / "web")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stdout.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and f"{sources['int8_io']} computes in int8" in notes[0]
    assert "--quantize uint8" in notes[0]
    cast = cast_of_int8(tmp_path)
    refused = edgeport_command("export-web", cast, "-o", tmp_path / "cast_web")
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.startswith(f"edgeport: error: {cast}: CAST")
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
