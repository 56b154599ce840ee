"""The .tflite reader and writer are lossless inverses, and what the writer emits is what LiteRT
and the schema expect.

Checked on the production corpus (mediapipe's models: read -> write -> read gives the same
Graph, and LiteRT computes bit-identical outputs from the rewritten file) and on synthetic
models that exercise every feature of the format, plus a property test over random graphs.
"""

from __future__ import annotations

import numpy as np
import pytest
import tflite
from ai_edge_litert.interpreter import Interpreter as LiteRTInterpreter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edgeport.export.tflite import save_tflite, write_tflite
from edgeport.frontends.tflite import read_tflite
from edgeport.graph import Graph, Op, QuantParams, Tensor
from edgeport.ops import OpDef, registry
from edgeport.tflite_schema import CUSTOM_CODE, builtin_op_codes, builtin_op_names
from tests.corpus import (CUSTOM_OP_MODELS, add_chain_graph, custom_op_graph, feature_graph,
                          mediapipe_model, mediapipe_model_names, runnable_model_names)

# -- comparing graphs -------------------------------------------------------------------------

def assert_graphs_equal(a: Graph, b: Graph) -> None:
    """Every part of two graphs (subgraphs, signatures, metadata included) is identical."""
    assert a.description == b.description
    assert a.metadata == b.metadata
    assert [(s.key, s.inputs, s.outputs, s.subgraph_index) for s in a.signatures] == \
        [(s.key, s.inputs, s.outputs, s.subgraph_index) for s in b.signatures]
    assert len(a.subgraphs) == len(b.subgraphs)
    for ga, gb in zip(a.all_graphs(), b.all_graphs()):
        _assert_subgraph_equal(ga, gb)


def _assert_subgraph_equal(a: Graph, b: Graph) -> None:
    where = f"subgraph {a.name!r}"
    assert a.name == b.name
    assert list(a.tensors) == list(b.tensors), f"{where}: tensor names or order differ"
    for name, ta in a.tensors.items():
        _assert_tensor_equal(ta, b.tensors[name], f"{where} tensor {name!r}")
    assert a.inputs == b.inputs, where
    assert a.outputs == b.outputs, where
    assert len(a.ops) == len(b.ops), where
    for i, (oa, ob) in enumerate(zip(a.ops, b.ops)):
        assert (oa.type, oa.inputs, oa.outputs) == (ob.type, ob.inputs, ob.outputs), \
            f"{where} op {i}"
        assert _attrs_key(oa.attrs) == _attrs_key(ob.attrs), f"{where} op {i} ({oa.type}) attrs"


def _assert_tensor_equal(a: Tensor, b: Tensor, where: str) -> None:
    assert a.shape == b.shape, where
    assert a.dtype == b.dtype, where
    assert a.is_variable == b.is_variable, where
    assert (a.data is None) == (b.data is None), where
    if a.data is not None:
        assert a.data.dtype == b.data.dtype and a.data.shape == b.data.shape, where
        assert a.data.tobytes() == b.data.tobytes(), f"{where}: data differs"
    assert a.quant == b.quant, f"{where}: quantization differs ({a.quant} vs {b.quant})"
    assert (a.sparsity is None) == (b.sparsity is None), where
    if a.sparsity is not None:
        sa, sb = a.sparsity, b.sparsity
        assert list(sa.traversal_order) == list(sb.traversal_order), where
        assert list(sa.block_map) == list(sb.block_map), where
        assert len(sa.dim_metadata) == len(sb.dim_metadata), where
        for da, db in zip(sa.dim_metadata, sb.dim_metadata):
            assert (da.format, da.dense_size) == (db.format, db.dense_size), where
            for va, vb in ((da.segments, db.segments), (da.indices, db.indices)):
                assert (va is None) == (vb is None), where
                if va is not None:
                    assert np.array_equal(va, vb), f"{where}: sparse index vector differs"


def _attrs_key(attrs: dict):
    """attrs in a form == compares exactly (arrays and tuples as lists, bytes as bytes)."""
    return {k: (np.asarray(v).tolist() if isinstance(v, (np.ndarray, tuple, list)) else v)
            for k, v in attrs.items()}


def round_trip(graph_or_bytes) -> tuple[Graph, Graph, bytes]:
    first = (read_tflite(graph_or_bytes) if isinstance(graph_or_bytes, (bytes, str))
             else graph_or_bytes)
    written = write_tflite(first)
    return first, read_tflite(written), written


# -- writer rules, checked with the schema package directly ------------------------------------

def assert_writer_rules(data: bytes) -> None:
    """Schema version 3, identifier TFL3, buffer 0 empty, constant data 16-byte aligned in the
    file, every operator code with both builtin_code and deprecated_builtin_code."""
    assert tflite.Model.ModelBufferHasIdentifier(data, 0)
    assert data[4:8] == b"TFL3"
    model = tflite.Model.GetRootAs(data, 0)
    assert model.Version() == 3
    assert model.BuffersLength() >= 1
    assert model.Buffers(0).DataLength() == 0, "buffer 0 must be the empty sentinel"
    for i in range(1, model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength():
            start = buffer._tab.Vector(buffer._tab.Offset(4))
            assert start % 16 == 0, f"buffer {i} data starts at {start}, not 16-byte aligned"
            assert data[start:start + buffer.DataLength()] == buffer.DataAsNumpy().tobytes()
    names = builtin_op_names()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        assert code.BuiltinCode() in names
        assert code.DeprecatedBuiltinCode() == min(code.BuiltinCode(), 127), \
            f"operator code {i}: deprecated_builtin_code {code.DeprecatedBuiltinCode()} " \
            f"for builtin_code {code.BuiltinCode()}"
        assert code.Version() >= 1
        assert (code.CustomCode() is not None) == (code.BuiltinCode() == CUSTOM_CODE)
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        for t in range(sub.TensorsLength()):
            tensor = sub.Tensors(t)
            assert 0 <= tensor.Buffer() < model.BuffersLength()
            if tensor.Buffer() != 0:
                assert model.Buffers(tensor.Buffer()).DataLength() > 0, \
                    "a tensor without data must point at buffer 0"


# -- running in LiteRT ------------------------------------------------------------------------

def random_feeds(details, rng) -> list[np.ndarray]:
    feeds = []
    for d in details:
        shape, dtype = tuple(d["shape"]), d["dtype"]
        if np.issubdtype(dtype, np.floating):
            feeds.append(rng.uniform(-2, 2, shape).astype(dtype))
        elif dtype == np.bool_:
            feeds.append(rng.integers(0, 2, shape).astype(bool))
        else:
            info = np.iinfo(dtype)
            feeds.append(rng.integers(max(info.min, -1000), min(info.max, 1000), shape,
                                      dtype=dtype))
    return feeds


def litert_outputs(model: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    interpreter = LiteRTInterpreter(model_content=model, num_threads=1)
    interpreter.allocate_tensors()
    for d, value in zip(interpreter.get_input_details(), feeds):
        interpreter.set_tensor(d["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def assert_same_litert_outputs(original: bytes, rewritten: bytes, seed: int = 0) -> None:
    probe = LiteRTInterpreter(model_content=original)
    feeds = random_feeds(probe.get_input_details(), np.random.default_rng(seed))
    want, got = litert_outputs(original, feeds), litert_outputs(rewritten, feeds)
    assert len(want) == len(got)
    for i, (w, g) in enumerate(zip(want, got)):
        assert w.dtype == g.dtype and w.shape == g.shape, f"output {i}"
        assert np.array_equal(w, g, equal_nan=np.issubdtype(w.dtype, np.floating)), \
            f"output {i} differs: max abs diff {np.max(np.abs(w.astype(float) - g))}"


# -- the production corpus --------------------------------------------------------------------

@pytest.mark.parametrize("name", mediapipe_model_names())
def test_corpus_round_trip_is_lossless(name):
    first, second, written = round_trip(str(mediapipe_model(name)))
    assert_graphs_equal(first, second)
    assert_writer_rules(written)
    assert write_tflite(second) == written, "writing is not deterministic"


@pytest.mark.parametrize("name", runnable_model_names())
def test_corpus_rewritten_file_runs_identically_in_litert(name):
    """Every corpus model LiteRT can run (those with mediapipe's custom ops it cannot; the
    list is checked below) gives identical outputs from the rewritten file."""
    path = mediapipe_model(name)
    original = path.read_bytes()
    assert_same_litert_outputs(original, write_tflite(read_tflite(path)))


@pytest.mark.parametrize("name", mediapipe_model_names())
def test_custom_op_list_is_exact(name):
    """CUSTOM_OP_MODELS names exactly the corpus models with custom ops."""
    model = tflite.Model.GetRootAs(mediapipe_model(name).read_bytes(), 0)
    uses_custom = any(max(model.OperatorCodes(i).BuiltinCode(),
                          model.OperatorCodes(i).DeprecatedBuiltinCode()) == CUSTOM_CODE
                      for i in range(model.OperatorCodesLength()))
    assert uses_custom == (name in CUSTOM_OP_MODELS)


# -- synthetic models -------------------------------------------------------------------------

@pytest.mark.parametrize("build", [feature_graph, custom_op_graph, add_chain_graph])
def test_synthetic_round_trip_is_lossless(build):
    graph = build()
    _, read_back, written = round_trip(graph)
    assert_graphs_equal(graph, read_back)  # the reader gives back exactly what was written
    assert_writer_rules(written)
    again = write_tflite(read_back)
    assert again == written, "read -> write is not the identity on bytes"


def test_feature_model_keeps_every_feature():
    """Spot checks that the features really are in the file, not lost on both sides alike."""
    data = write_tflite(feature_graph())
    model = tflite.Model.GetRootAs(data, 0)
    assert model.SubgraphsLength() == 2 and model.SignatureDefsLength() == 2
    assert sorted(model.Metadata(i).Name() for i in range(model.MetadataLength())) == \
        [b"edgeport_note", b"empty_entry"]
    main = model.Subgraphs(0)
    tensors = {main.Tensors(i).Name().decode(): main.Tensors(i)
               for i in range(main.TensorsLength())}
    assert list(tensors["x"].ShapeSignatureAsNumpy()) == [-1, 4]
    assert list(tensors["x"].ShapeAsNumpy()) == [1, 4]
    q = tensors["c_i8_axis3"].Quantization()
    assert q.QuantizedDimension() == 3 and q.ScaleLength() == 4
    assert tensors["c_sparse"].Sparsity().DimMetadataLength() == 2
    read_back = read_tflite(data)
    assert read_back.tensors["c_bool"].data.dtype == np.bool_
    assert read_back.tensors["c_u8"].quant.min.tolist() == [-64.0]


def test_custom_options_bytes_survive():
    graph = read_tflite(write_tflite(custom_op_graph()))
    op = graph.ops[0]
    assert op.type == "CUSTOM:EdgeportTestScale"
    assert op.attrs == {"custom_options": bytes([3, 0, 255, 7])}


def test_feature_model_runs_identically_in_litert_after_round_trip():
    written = write_tflite(feature_graph())
    rewritten = write_tflite(read_tflite(written))
    assert_same_litert_outputs(written, rewritten)
    for data in (written, rewritten):
        runner = LiteRTInterpreter(model_content=data).get_signature_runner("double")
        np.testing.assert_array_equal(runner(a=np.array([1.5, -2], np.float32))["b"], [3, -4])


def test_opcode_above_127_uses_placeholder_deprecated_code(monkeypatch):
    """Ops numbered past 127 write deprecated_builtin_code 127 (the placeholder) and the real
    code in builtin_code; the reader takes the larger of the two."""
    assert builtin_op_codes()["BROADCAST_TO"] == 130

    class BroadcastTo(OpDef):  # a stand-in definition: no options, LiteRT's first version
        name = "BROADCAST_TO"

        def version(self, op, graph):
            return 2

    monkeypatch.setitem(registry.OPS, "BROADCAST_TO", BroadcastTo())
    graph = Graph(name="main")
    graph.add_tensor(Tensor("x", (1, 3), np.float32))
    graph.add_tensor(Tensor("shape", (2,), np.int32, np.array([2, 3], np.int32)))
    graph.add_tensor(Tensor("y", (2, 3), np.float32))
    graph.add_op(Op("BROADCAST_TO", ["x", "shape"], ["y"]))
    graph.inputs, graph.outputs = ["x"], ["y"]
    data = write_tflite(graph)
    assert_writer_rules(data)
    code = tflite.Model.GetRootAs(data, 0).OperatorCodes(0)
    assert (code.DeprecatedBuiltinCode(), code.BuiltinCode()) == (127, 130)
    assert read_tflite(data).ops[0].type == "BROADCAST_TO"
    out = litert_outputs(data, [np.array([[1, 2, 3]], np.float32)])[0]
    np.testing.assert_array_equal(out, [[1, 2, 3], [1, 2, 3]])


def test_save_tflite_writes_the_same_bytes(tmp_path):
    path = tmp_path / "model.tflite"
    size = save_tflite(feature_graph(), path)
    assert path.read_bytes() == write_tflite(feature_graph()) and size == path.stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["model.tflite"]  # no temp file left


def test_empty_description_round_trips():
    graph = add_chain_graph()
    graph.description = ""
    assert read_tflite(write_tflite(graph)).description == ""


# -- property: random ADD chains round-trip losslessly ---------------------------------------

DTYPES = [np.float32, np.float16, np.float64, np.int8, np.uint8, np.int16, np.int32, np.int64,
          np.bool_]
names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1,
                max_size=12)


@st.composite
def quant_params(draw, shape):
    if not draw(st.booleans()):
        return None
    axes = [i for i, d in enumerate(shape) if d > 1]
    per_axis = bool(axes) and draw(st.booleans())
    axis = draw(st.sampled_from(axes)) if per_axis else 0
    n = shape[axis] if per_axis else 1
    scale = draw(hnp.arrays(np.float32, n, elements=st.floats(2.0**-20, 1e3, width=32)))
    zero = draw(hnp.arrays(np.int64, n, elements=st.integers(-128, 255)))
    bounds = draw(st.booleans())
    low = draw(hnp.arrays(np.float32, n, elements=st.floats(-1e3, 0, width=32))) if bounds \
        else None
    high = draw(hnp.arrays(np.float32, n, elements=st.floats(0, 1e3, width=32))) if bounds \
        else None
    return QuantParams(scale, zero, axis, low, high)


@st.composite
def add_chains(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(1, 4), max_size=4)))
    dynamic = tuple(-1 if draw(st.booleans()) and i == 0 else d for i, d in enumerate(shape))
    tensor_names = draw(st.lists(names, min_size=8, max_size=8, unique=True))
    graph = Graph(name=draw(names), description=draw(st.text(max_size=20)),
                  metadata=draw(st.dictionaries(names, st.binary(max_size=40), max_size=3)))
    graph.add_tensor(Tensor(tensor_names[0], dynamic, dtype, quant=draw(quant_params(shape))))
    graph.inputs = [tensor_names[0]]
    current = tensor_names[0]
    n_ops = draw(st.integers(0, 3))
    for i in range(n_ops):
        const, out = tensor_names[1 + 2 * i], tensor_names[2 + 2 * i]
        value = draw(hnp.arrays(dtype, shape))
        graph.add_tensor(Tensor(const, shape, dtype, value, draw(quant_params(shape))))
        graph.add_tensor(Tensor(out, dynamic, dtype, quant=draw(quant_params(shape))))
        graph.add_op(Op("ADD", [current, const], [out], {
            "fused_activation_function": draw(st.sampled_from(["NONE", "RELU", "RELU6",
                                                               "RELU_N1_TO_1", "TANH"])),
            "pot_scale_int16": draw(st.booleans())}))
        current = out
    graph.outputs = [current]
    return graph


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(add_chains())
def test_random_add_chains_round_trip_losslessly(graph):
    _, read_back, written = round_trip(graph)
    assert_graphs_equal(graph, read_back)
    assert_writer_rules(written)
