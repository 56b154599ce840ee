"""Acceptance test of `edgeport.lite.Interpreter` on models no one here wrote: the production
.tflite files of the mediapipe 0.10.14 wheel (tests/corpus.py).

For every model LiteRT can run, edgeport and LiteRT get the same seeded random inputs (uniform in
the range mediapipe feeds that model), at batch 1 and after ``resize_tensor_input`` to batch 4.
Each output must be "no further from LiteRT than three times the gap between LiteRT's own XNNPACK
and BUILTIN_REF outputs, and never more than 1e-4 of the output's scale where that gap is
smaller":

    max|edgeport - REF| <= max(3 * max|XNNPACK - REF|, 1e-4 * max|REF|)   (scale 1 if REF is 0)

and each row of edgeport's batch-4 output must equal edgeport's batch-1 result on that row's
input, within the same bound.

Models that need mediapipe's custom ops must be refused at construction with UnsupportedOpError
naming the ops. With the NumPy Convolution2DTransposeBias of tests/custom_ops.py registered the
selfie segmentation models run. LiteRT's BUILTIN_REF cannot run them but its XNNPACK delegate can
(it implements that op), so there "REF" is LiteRT BUILTIN_REF on the builtin ops before and after
the custom op with the NumPy op in between, and "XNNPACK" is LiteRT on the whole model. The NumPy
op is also checked on its own against a literal transcription of mediapipe's C++ loop and
against LiteRT's TRANSPOSE_CONV with bias (the same arithmetic: mediapipe's SAME padding crops
exactly what TRANSPOSE_CONV's SAME padding crops for the same output shape).

``pytest -s`` prints a table of errors, gaps and bounds per model and output.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter as LiteRTInterpreter, OpResolverType

import edgeport.lite.interpreter as interpreter_module
from edgeport.errors import UnsupportedOpError
from edgeport.export.tflite import write_tflite
from edgeport.frontends.tflite import read_tflite
from edgeport.graph import Graph
from edgeport.lite import Interpreter, register_custom_op
from tests.corpus import (CUSTOM_OP_MODELS, mediapipe_model, mediapipe_model_names,
                          runnable_model_names)
from tests.custom_ops import MEDIAPIPE_CUSTOM_OPS, convolution_2d_transpose_bias
from tests.opmodels import Input, op_graph
from tests.oracles.litert import run_edgeport, run_litert

NAMES = mediapipe_model_names()
RUNNABLE = runnable_model_names()
SELFIE = [name for name in CUSTOM_OP_MODELS
          if CUSTOM_OP_MODELS[name] <= set(MEDIAPIPE_CUSTOM_OPS)]

# What mediapipe's graphs feed each model (ImageToTensorCalculator output_tensor_float_range or
# TfLiteConverterCalculator zero_center): [-1, 1] for these, [0, 1] for every other model.
SIGNED_INPUT_MODELS = {"face_detection_short_range", "face_detection_full_range_sparse",
                       "hand_recrop", "pose_detection"}
BATCH = 4
RESULTS: list[tuple] = []  # rows of the -s table
NOTES: list[str] = []  # printed under it


def input_range(name: str) -> tuple[float, float]:
    return (-1.0, 1.0) if name in SIGNED_INPUT_MODELS else (0.0, 1.0)


def random_inputs(name: str, batch: int) -> list[np.ndarray]:
    """Seeded uniform inputs of the model's signature shapes with the batch dim set."""
    details = LiteRTInterpreter(model_path=str(mediapipe_model(name))).get_input_details()
    rng = np.random.default_rng(zlib.crc32(f"{name}/{batch}".encode()))
    low, high = input_range(name)
    return [rng.uniform(low, high, (batch, *d["shape"][1:])).astype(d["dtype"])
            for d in details]


@dataclass
class Oracle:
    inputs: list[np.ndarray]
    ref: list[np.ndarray]  # LiteRT BUILTIN_REF
    xnnpack: list[np.ndarray]  # LiteRT default resolver
    reference: Callable[[list[np.ndarray]], list[np.ndarray]]  # inputs -> the "ref" outputs

    def bounds(self) -> list[tuple[float, float]]:
        """(bound, gap) per output: max(3 * gap, 1e-4 * scale)."""
        result = []
        for ref, fast in zip(self.ref, self.xnnpack):
            gap = float(np.max(np.abs(fast - ref), initial=0.0))
            scale = float(np.max(np.abs(ref), initial=0.0)) or 1.0
            result.append((max(3 * gap, 1e-4 * scale), gap))
        return result


@lru_cache(maxsize=None)
def litert_oracle(name: str, batch: int) -> Oracle:
    model = mediapipe_model(name).read_bytes()
    inputs = random_inputs(name, batch)
    return Oracle(inputs, run_litert(model, inputs, reference=True),
                  run_litert(model, inputs, reference=False),
                  lambda values: run_litert(model, values, reference=True))


def check_outputs(name: str, batch: int, ours: list[np.ndarray], oracle: Oracle) -> None:
    """Every output within its bound; all outputs are recorded for the table first."""
    assert len(ours) == len(oracle.ref)
    failures = []
    for i, (got, want, (bound, gap)) in enumerate(zip(ours, oracle.ref, oracle.bounds())):
        label = str(i)
        assert got.shape == want.shape, f"{name} output {label}: shape {got.shape} != {want.shape}"
        assert got.dtype == want.dtype, f"{name} output {label}: dtype {got.dtype} != {want.dtype}"
        err = float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0))
        ok = err <= bound  # NaN fails too
        RESULTS.append((name, batch, label, tuple(got.shape), err, gap, bound, ok))
        if not ok:
            failures.append(f"output {label} {list(got.shape)}: max|edgeport - REF| = {err:.3g} "
                            f"> bound {bound:.3g} (XNNPACK-REF gap {gap:.3g})")
    assert not failures, f"{name} batch {batch}: " + "; ".join(failures)


def batch_layout(oracle: Oracle, output: int) -> np.ndarray | None:
    """For each element of a batch output, its flat index in the batch-1 outputs of the rows
    laid end to end, as LiteRT BUILTIN_REF shows it; None where LiteRT's batch output is not
    made of its batch-1 outputs at all (the graph pins batch 1 somewhere: hand_recrop's
    STRIDED_SLICEs end at batch index 1).

    Where the model keeps the batch in axis 0 that is the identity. Detection heads instead
    reshape to constant shapes [1, B*N, K] and concatenate the heads, which puts the rows of
    each head together: there each element of REF's batch output is located exactly in its
    batch-1 outputs (REF computes an element the same way at any batch; ties are equal values,
    so any of them will do)."""
    batch = oracle.inputs[0].shape[0]
    rows = np.concatenate([oracle.reference([x[r:r + 1] for x in oracle.inputs])[output].ravel()
                           for r in range(batch)])
    wanted = oracle.ref[output].ravel()
    bound = oracle.bounds()[output][0]
    if oracle.ref[output].shape[0] == batch and np.max(np.abs(rows - wanted)) <= bound:
        return np.arange(wanted.size)
    order = np.argsort(rows, kind="stable")
    found = np.clip(np.searchsorted(rows[order], wanted), 0, rows.size - 1)
    return order[found] if np.array_equal(rows[order][found], wanted) else None


@pytest.fixture(scope="module", autouse=True)
def report():
    """Print the table of every compared output at the end of the module (visible with -s)."""
    yield
    if not RESULTS and not NOTES:
        return
    print("\n\nmediapipe models: edgeport vs LiteRT BUILTIN_REF "
          "(bound = max(3 * gap, 1e-4 * scale), gap = max|XNNPACK - REF|)")
    print(f"{'model':32} {'batch':>5} {'output':>6} {'shape':18} {'max err':>10} {'gap':>10} "
          f"{'bound':>10}  ok")
    for name, batch, label, shape, err, gap, bound, ok in RESULTS:
        gap_text = "-" if np.isnan(gap) else f"{gap:.3g}"
        print(f"{name:32} {batch:>5} {label:>6} {str(list(shape)):18} {err:10.3g} {gap_text:>10} "
              f"{bound:10.3g}  {'yes' if ok else 'NO'}")
    for note in NOTES:
        print(note)


# -- the corpus -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_litert_runs_exactly_the_models_without_custom_ops(name):
    """Guards the split below: a changed corpus must not silently shrink the acceptance test."""
    path = str(mediapipe_model(name))
    reference = OpResolverType.BUILTIN_REF
    if name in CUSTOM_OP_MODELS:
        with pytest.raises(RuntimeError, match="unresolved custom op") as info:
            LiteRTInterpreter(model_path=path,
                              experimental_op_resolver_type=reference).allocate_tensors()
        assert any(op in str(info.value) for op in CUSTOM_OP_MODELS[name])
    else:
        LiteRTInterpreter(model_path=path, experimental_op_resolver_type=reference
                          ).allocate_tensors()


# -- models LiteRT runs: edgeport must match it ------------------------------------------------
@pytest.mark.parametrize("name", RUNNABLE)
def test_matches_litert_batch1(name):
    oracle = litert_oracle(name, 1)
    ours = run_edgeport(mediapipe_model(name).read_bytes(), oracle.inputs)
    check_outputs(name, 1, ours, oracle)


@pytest.mark.parametrize("name", RUNNABLE)
def test_matches_litert_batch4(name):
    """Resized to batch 4 with resize_tensor_input; each row as edgeport's batch-1 result."""
    model = mediapipe_model(name).read_bytes()
    oracle = litert_oracle(name, BATCH)
    ours = run_edgeport(model, oracle.inputs)
    check_outputs(name, BATCH, ours, oracle)
    check_rows(name, model, ours, oracle)


def check_rows(name: str, model: bytes, ours: list[np.ndarray], oracle: Oracle) -> None:
    """edgeport's batch output equals its batch-1 outputs on each row, laid out as the model
    lays out a batch, within the output's bound."""
    batch = oracle.inputs[0].shape[0]
    singles = [run_edgeport(model, [x[r:r + 1] for x in oracle.inputs]) for r in range(batch)]
    for i, (got, (bound, _)) in enumerate(zip(ours, oracle.bounds())):
        layout = batch_layout(oracle, i)
        if layout is None:
            NOTES.append(f"{name} output {i}: no per-row check at batch {batch}: LiteRT's own "
                         "batch output is not its batch-1 outputs (the model pins batch 1)")
            continue
        rows = np.concatenate([single[i].ravel() for single in singles])
        expected = rows[layout].reshape(got.shape)
        err = float(np.max(np.abs(got - expected), initial=0.0))
        assert err <= bound, (f"{name} output {i}: batch-{batch} output differs from the "
                              f"batch-1 runs on its rows by {err:.3g} (bound {bound:.3g})")


# -- models with mediapipe's custom ops ----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CUSTOM_OP_MODELS))
def test_custom_op_models_are_refused(name, monkeypatch):
    monkeypatch.setattr(interpreter_module, "_CUSTOM_OPS", {})  # whatever others registered
    path = mediapipe_model(name)
    custom = {t[len("CUSTOM:"):] for t in read_tflite(path).op_types() if t.startswith("CUSTOM:")}
    assert custom == CUSTOM_OP_MODELS[name]
    with pytest.raises(UnsupportedOpError) as info:
        Interpreter(model_path=str(path))
    for op in CUSTOM_OP_MODELS[name]:
        assert op in str(info.value)


def split_at_custom_op(graph: Graph) -> tuple[Graph, Graph, object]:
    """(before, after, op) around the graph's one custom op: ``before`` computes the op's
    inputs from the model inputs, ``after`` takes the op's output to the model outputs.
    Both hold builtin ops only, so LiteRT runs them."""
    (op,) = [op for op in graph.ops if op.is_custom]
    downstream, names = set(), set(op.outputs)
    for other in graph.topological_order():
        if other is op or names & set(other.inputs):
            downstream.add(id(other))
            names |= set(other.outputs)
    before_ops = [o for o in graph.ops if id(o) not in downstream]
    after_ops = [o for o in graph.ops if id(o) in downstream and o is not op]
    produced = {n for o in before_ops for n in o.outputs}
    before = _subgraph(graph, before_ops, graph.inputs,
                       [n for n in op.inputs if n in produced or n in graph.inputs])
    after = _subgraph(graph, after_ops, op.outputs, graph.outputs)
    return before, after, op


def _subgraph(graph: Graph, ops: list, inputs: list[str], outputs: list[str]) -> Graph:
    sub = Graph(name=graph.name)
    for name in dict.fromkeys([*inputs, *outputs, *(n for o in ops for n in (*o.inputs,
                                                                             *o.outputs))]):
        if name is not None:
            sub.add_tensor(graph.tensors[name])
    for o in ops:
        sub.add_op(o)
    sub.inputs, sub.outputs = list(inputs), list(outputs)
    return sub


@dataclass
class SelfieOracle(Oracle):
    logits_name: str = ""  # the custom op's output, before the final LOGISTIC
    logits: np.ndarray | None = None  # ... as the NumPy op computes it from LiteRT's inputs


def selfie_oracle(name: str, inputs: list[np.ndarray]) -> SelfieOracle:
    """BUILTIN_REF cannot run the custom op, XNNPACK can (its delegate implements mediapipe's
    Convolution2DTransposeBias). So "REF" here is LiteRT BUILTIN_REF on the builtin ops before
    and after the custom op with the NumPy op in between, and "XNNPACK" is LiteRT's default
    resolver on the whole model: their gap also bounds any error of the NumPy op."""
    graph = read_tflite(mediapipe_model(name))
    before, after, op = split_at_custom_op(graph)
    values = dict(zip(before.outputs, run_litert(write_tflite(before), inputs)))
    values.update(zip(graph.inputs, inputs))
    args = [values[n] if n in values else graph.tensors[n].data for n in op.inputs]
    logits = MEDIAPIPE_CUSTOM_OPS[op.type[len("CUSTOM:"):]](args, op.attrs["custom_options"])
    return SelfieOracle(inputs, run_litert(write_tflite(after), [logits]),
                        run_litert(mediapipe_model(name).read_bytes(), inputs, reference=False),
                        lambda values: selfie_oracle(name, values).ref, op.outputs[0], logits)


def run_keeping(model: bytes, inputs: list[np.ndarray], name: str) -> np.ndarray:
    """Tensor ``name`` of edgeport's run of ``model`` (all tensors preserved)."""
    interpreter = Interpreter(model_content=model, experimental_preserve_all_tensors=True)
    (detail,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(detail["index"], inputs[0].shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], inputs[0])
    interpreter.invoke()
    (index,) = [d["index"] for d in interpreter.get_tensor_details() if d["name"] == name]
    return interpreter.get_tensor(index)


@pytest.mark.parametrize("name", SELFIE)
def test_selfie_segmentation_with_numpy_custom_op(name, monkeypatch):
    monkeypatch.setattr(interpreter_module, "_CUSTOM_OPS", {})  # restored after the test
    for op in CUSTOM_OP_MODELS[name]:
        register_custom_op(op, MEDIAPIPE_CUSTOM_OPS[op])
    model = mediapipe_model(name).read_bytes()
    for batch in (1, BATCH):
        oracle = selfie_oracle(name, random_inputs(name, batch))
        ours = run_edgeport(model, oracle.inputs)
        (mask,) = ours
        # A sigmoid mask of the input image's size.
        assert mask.shape == (*oracle.inputs[0].shape[:3], 1) and mask.dtype == np.float32
        assert np.all((mask >= 0) & (mask <= 1)) and mask.std() > 0
        check_outputs(name, batch, ours, oracle)
        if batch > 1:
            check_rows(name, model, ours, oracle)
        # On noise the mask is ~1e-8 everywhere, where the sigmoid hides logit errors: compare
        # the logits too. XNNPACK gives no intermediates, so no gap: the 1e-4 scale floor only.
        logits = run_keeping(model, oracle.inputs, oracle.logits_name)
        scale = float(np.abs(oracle.logits).max()) or 1.0
        err = float(np.abs(logits - oracle.logits).max())
        RESULTS.append((name, batch, "logits", logits.shape, err, float("nan"),
                        1e-4 * scale, err <= 1e-4 * scale))
        assert err <= 1e-4 * scale, f"{name} logits: max err {err:.3g} > {1e-4 * scale:.3g}"


# -- the NumPy custom op on its own ------------------------------------------------------------
def _literal_transpose_conv_bias(x, w, bias, padding, stride_h, stride_w):
    """mediapipe's TransposeConvBias loop nest, transcribed literally (float64 accumulation)."""
    n_batch, height, width, channels = x.shape
    out_c, kh, kw, _ = w.shape
    pad_h = max(0, kh - (height - 1) % stride_h - 1) if padding == 1 else 0
    pad_w = max(0, kw - (width - 1) % stride_w - 1) if padding == 1 else 0
    out_h, out_w = stride_h * (height - 1) + kh - pad_h, stride_w * (width - 1) + kw - pad_w
    out = np.tile(bias.astype(np.float64), (n_batch, out_h, out_w, 1))
    for b in range(n_batch):
        for in_y in range(height):
            for in_x in range(width):
                for c in range(channels):
                    for fy in range(kh):
                        for fx in range(kw):
                            out_y = in_y * stride_h - pad_h // 2 + fy
                            out_x = in_x * stride_w - pad_w // 2 + fx
                            if 0 <= out_y < out_h and 0 <= out_x < out_w:
                                out[b, out_y, out_x] += x[b, in_y, in_x, c] * w[:, fy, fx, c]
    return out


# (padding: 1 SAME / 2 VALID, stride_h, stride_w, kh, kw, height, width)
GEOMETRIES = [(1, 2, 2, 2, 2, 4, 5), (1, 2, 2, 3, 3, 4, 5), (1, 2, 3, 4, 3, 5, 4),
              (1, 1, 2, 3, 3, 3, 4), (1, 3, 2, 2, 5, 4, 3), (2, 2, 2, 2, 2, 4, 5),
              (2, 2, 3, 3, 4, 5, 4), (2, 1, 1, 3, 3, 3, 3)]


def _case(geometry, seed=0):
    padding, sh, sw, kh, kw, h, w = geometry
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (2, h, w, 3)).astype(np.float32)
    weights = rng.uniform(-1, 1, (4, kh, kw, 3)).astype(np.float32)
    bias = rng.uniform(-1, 1, 4).astype(np.float32)
    return x, weights, bias, struct.pack("<3i", padding, sw, sh)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_transpose_conv_bias_matches_mediapipe_loop(geometry):
    x, w, bias, options = _case(geometry)
    padding, sh, sw = geometry[:3]
    got = convolution_2d_transpose_bias([x, w, bias], options)
    want = _literal_transpose_conv_bias(x, w, bias, padding, sh, sw)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_transpose_conv_bias_matches_litert_transpose_conv(geometry):
    """LiteRT TRANSPOSE_CONV (with bias) of the output shape mediapipe computes: its SAME
    padding crops (K - 1 - (H - 1) % S) // 2 at the top/left too, so the two ops agree."""
    x, w, bias, options = _case(geometry, seed=1)
    expected_numpy = convolution_2d_transpose_bias([x, w, bias], options)
    padding, sh, sw = geometry[:3]
    graph = op_graph("TRANSPOSE_CONV",
                     [np.array(expected_numpy.shape, np.int32), w, Input(x.shape), bias],
                     {"padding": {1: "SAME", 2: "VALID"}[padding], "stride_h": sh, "stride_w": sw,
                      "fused_activation_function": "NONE"})
    (litert,) = run_litert(write_tflite(graph), [x], reference=True)
    np.testing.assert_allclose(expected_numpy, litert, rtol=1e-5, atol=1e-5)
