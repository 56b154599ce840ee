"""The mediapipe corpus quantized to full int8 with generated calibration data: every model
converts, loads and runs in LiteRT, and edgeport's outputs equal LiteRT's reference kernels'
bit for bit (ops without an int8 kernel stay float between QUANTIZE and DEQUANTIZE), on the
NumPy interpreter and, every op traced, on the jax backend."""

import numpy as np
import pytest

from edgeport.export.tflite import write_tflite
from edgeport.frontends.tflite import read_tflite
from edgeport.lite import Optimize, TFLiteConverter
from edgeport.ops import get_op
from tests.corpus import mediapipe_model, runnable_model_names
from tests.oracles.litert import run_edgeport, run_edgeport_jax, run_litert


def input_shapes(path):
    graph = read_tflite(str(path))
    return [tuple(max(d, 1) for d in graph.tensors[name].shape) for name in graph.inputs]


@pytest.mark.parametrize("name", runnable_model_names())
def test_corpus_model_int8(name, monkeypatch):
    path = mediapipe_model(name)
    shapes = input_shapes(path)
    rng = np.random.default_rng(0)

    def dataset():
        for _ in range(4):
            yield [rng.uniform(0, 1, s).astype(np.float32) for s in shapes]

    converter = TFLiteConverter.from_tflite(path)
    converter.optimizations = [Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.calibration_progress = False
    q = converter.convert()
    graph = read_tflite(q)
    int8_ops = [op for op in graph.ops if any(graph.tensors[n].dtype == np.int8
                                              for n in op.outputs)]
    assert len(int8_ops) > len(graph.ops) // 2
    x = [rng.uniform(0, 1, s).astype(np.float32) for s in shapes]
    got = run_edgeport(q, x)
    got_jax, report = run_edgeport_jax(q, x)
    assert {p.kernel for p in report.ops} == {"jax"}
    for g, j in zip(got, got_jax):
        np.testing.assert_array_equal(j, g)
    if any(op.type == "DEPTH_TO_SPACE" for op in int8_ops):
        # BUILTIN_REF registers DEPTH_TO_SPACE at version 1 only, though its kernel moves int8
        # data at any version; the file rightly says 2 (op_version.cc). So that the reference
        # kernels can judge every other op bit for bit, the copy LiteRT runs says 1.
        monkeypatch.setattr(get_op("DEPTH_TO_SPACE"), "version", lambda op, graph: 1)
        q = write_tflite(graph)
    want = run_litert(q, x, reference=True)
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)
