"""Graph models (from IR graphs and .tflite files) load in @tensorflow/tfjs 4.22 and predict
what edgeport's interpreter predicts."""

import copy
import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter as LiteRT, OpResolverType

from edgeport.errors import UnsupportedOpError
from edgeport.examples import digits_cnn
from edgeport.export.tfjs import export_web
from edgeport.frontends.tflite import read_tflite
from edgeport.export.tfjs.weights import dequantize_array, quantize_array
from edgeport.lite import interpreter as interpreter_module, register_custom_op
from edgeport.passes import fold_constants
from tests.corpus import mediapipe_model, mediapipe_model_names
from tests.custom_ops import MEDIAPIPE_CUSTOM_OPS
from tests.tfjs.helpers import assert_close, run_edgeport, run_tfjs

RNG = np.random.default_rng(0)
DIGITS = RNG.standard_normal((3, 8, 8, 1)).astype(np.float32)


def signature_inputs(directory) -> list[str]:
    return list(json.loads((directory / "model.json").read_text())["signature"]["inputs"])


def dequantized(graph, dtype):
    """``graph`` with every float32 weight replaced by what TF.js decodes from ``dtype``:
    quantization is per tensor and elementwise, so it commutes with the layout changes."""
    graph = fold_constants(copy.deepcopy(graph))
    for t in graph.tensors.values():
        if t.is_constant and t.data.dtype == np.float32:
            t.data = dequantize_array(*quantize_array(t.data, dtype))
    return graph


def test_digits_graph_model_float_quantized_and_sharded(tmp_path):
    variants = {"float32": {}, "uint8": {"quantize": "uint8"}, "uint16": {"quantize": "uint16"},
                "float16": {"quantize": "float16"}, "sharded": {"shard_size": 1024}}
    jobs = []
    for name, options in variants.items():
        summary = export_web(digits_cnn(), tmp_path / name, **options)
        assert summary["format"] == "graph-model"
        jobs.append((tmp_path / name, [("image", DIGITS)]))
    manifest = json.loads((tmp_path / "sharded" / "model.json").read_text())["weightsManifest"]
    assert len(manifest[0]["paths"]) > 5  # ~9.5 kB in 1 kB shards
    bins = {n: sum(p.stat().st_size for p in (tmp_path / n).glob("*.bin")) for n in variants}
    assert bins["uint8"] < bins["float16"] < bins["float32"] / 1.9
    results = dict(zip(variants, run_tfjs(jobs)))
    (want,) = run_edgeport(digits_cnn(), [DIGITS])
    assert_close(results["float32"]["outputs"][0], want, what="float32")
    assert_close(results["sharded"]["outputs"][0], want, what="sharded")
    for dtype in ("uint8", "uint16", "float16"):
        (want_q,) = run_edgeport(dequantized(digits_cnn(), dtype), [DIGITS])
        assert_close(results[dtype]["outputs"][0], want_q, what=dtype)
        assert np.max(np.abs(want_q - want)) > 0  # the quantization did change something


def test_every_graph_model_input_and_output_is_in_the_signature(tmp_path):
    export_web(digits_cnn(), tmp_path / "m")
    model = json.loads((tmp_path / "m" / "model.json").read_text())
    assert model["format"] == "graph-model"
    assert model["signature"]["inputs"]["image"]["tensorShape"]["dim"][1:] == [
        {"size": "8"}, {"size": "8"}, {"size": "1"}]
    assert list(model["signature"]["outputs"]) == ["probabilities"]
    ops = {n["op"] for n in model["modelTopology"]["node"]}
    assert {"_FusedConv2D", "MaxPool", "Mean", "_FusedMatMul", "Softmax"} <= ops
    consts = [n["name"] for n in model["modelTopology"]["node"] if n["op"] == "Const"]
    assert sorted(consts) == sorted(w["name"] for w in model["weightsManifest"][0]["weights"])


# -- the mediapipe corpus -----------------------------------------------------------------------
UNMAPPED = {"face_landmark_with_attention"}  # mediapipe custom ops with no TF.js counterpart
NAMES = [n for n in mediapipe_model_names() if n not in UNMAPPED]


def tolerance(name: str, x: np.ndarray) -> list[float]:
    """Per output: 1e-4 of the output's scale, or twice LiteRT's own XNNPACK-vs-reference
    difference where float summation order alone moves the output more than that."""
    outs = []
    for kwargs in ({"experimental_op_resolver_type": OpResolverType.BUILTIN_REF}, {}):
        it = LiteRT(model_path=str(mediapipe_model(name)), **kwargs)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        outs.append([it.get_tensor(d["index"]) for d in it.get_output_details()])
    return [max(1e-4, 2 * float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(a))), 1e-6))
            for a, b in zip(*outs)]


@pytest.fixture(scope="module")
def mediapipe_runs(tmp_path_factory):
    """Every mapped corpus model exported and run once, all in one Node process."""
    root = tmp_path_factory.mktemp("mediapipe_web")
    jobs, inputs = [], {}
    for name in NAMES:
        path = mediapipe_model(name)
        export_web(path, root / name)
        shape = LiteRT(model_path=str(path)).get_input_details()[0]["shape"]
        inputs[name] = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
        jobs.append((root / name, [(signature_inputs(root / name)[0], inputs[name])]))
    return dict(zip(NAMES, run_tfjs(jobs))), inputs


@pytest.mark.parametrize("name", NAMES)
def test_mediapipe_graph_model_matches_edgeport(name, mediapipe_runs, monkeypatch):
    results, inputs = mediapipe_runs
    x = inputs[name]
    monkeypatch.setattr(interpreter_module, "_CUSTOM_OPS", {})  # restored after the test
    for op, fn in MEDIAPIPE_CUSTOM_OPS.items():
        register_custom_op(op, fn)
    want = run_edgeport(read_tflite(mediapipe_model(name)), [x])
    got = results[name]["outputs"]
    assert len(got) == len(want)
    tolerances = [1e-4] * len(want) if name.startswith("selfie") else tolerance(name, x)
    for i, (g, w, tol) in enumerate(zip(got, want, tolerances)):
        assert_close(g, w, rel=tol, what=f"{name} output {i}")


def test_unmapped_custom_ops_are_named_and_leave_nothing(tmp_path):
    out = tmp_path / "web"
    with pytest.raises(UnsupportedOpError, match="CUSTOM:TransformTensorBilinear"):
        export_web(mediapipe_model("face_landmark_with_attention"), out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_layers_format_needs_a_keras_model(tmp_path):
    from edgeport.errors import UnsupportedLayerError
    with pytest.raises(UnsupportedLayerError, match="format='graph'"):
        export_web(digits_cnn(), tmp_path / "m", format="layers")


UNARY = ["SIN", "EXP", "LOG", "SQRT", "RSQRT", "LOGISTIC", "TANH", "ELU", "RELU", "RELU6"]


def test_elementwise_ops_match_edgeport(tmp_path):
    """Each one-input elementwise rule, one one-op bundle each, in one Node process."""
    from tests.opmodels import Input, op_graph

    x = np.random.default_rng(2).uniform(0.1, 4.0, (2, 3, 5)).astype(np.float32)
    graphs = {name: op_graph(name, [Input(x.shape)]) for name in UNARY}
    for name, graph in graphs.items():
        export_web(graph, tmp_path / name)
    results = run_tfjs([(tmp_path / name, [(signature_inputs(tmp_path / name)[0], x)])
                        for name in UNARY])
    for name, result in zip(UNARY, results):
        (want,) = run_edgeport(graphs[name], [x])
        assert_close(result["outputs"][0], want, what=name)
