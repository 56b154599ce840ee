"""Calibration: streamed ranges over a representative dataset, batched, with clear errors."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgeport.errors import QuantizationError
from edgeport.graph import Graph, Op, Signature, Tensor
from edgeport.quantize import calibrate
from edgeport.runtime.executor import GraphExecutor
from edgeport.runtime.kernels import bind_kernels


def two_layer_graph(batch=1) -> Graph:
    """x [batch, 6] -> FULLY_CONNECTED (RELU) -> h -> FULLY_CONNECTED -> y."""
    rng = np.random.default_rng(0)
    g = Graph(name="main")
    g.add_tensor(Tensor("x", (batch, 6), np.float32))
    for name, shape in (("w1", (8, 6)), ("b1", (8,)), ("w2", (3, 8)), ("b2", (3,))):
        g.add_tensor(Tensor(name, shape, np.float32, rng.normal(size=shape).astype(np.float32)))
    g.add_tensor(Tensor("h", (batch, 8), np.float32))
    g.add_tensor(Tensor("y", (batch, 3), np.float32))
    fc = dict(fused_activation_function="NONE", keep_num_dims=False, weights_format="DEFAULT",
              asymmetric_quantize_inputs=False)
    g.add_op(Op("FULLY_CONNECTED", ["x", "w1", "b1"], ["h"],
                dict(fc, fused_activation_function="RELU"), origin="dense_1"))
    g.add_op(Op("FULLY_CONNECTED", ["h", "w2", "b2"], ["y"], fc, origin="dense_2"))
    g.inputs, g.outputs = ["x"], ["y"]
    g.signatures = [Signature("serving_default", {"features": "x"}, {"out": "y"})]
    return g


def samples(n=50, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 1, 6)).astype(np.float32)


def exact_ranges(graph, data):
    """min/max of every activation over all samples, running one sample at a time."""
    ex = GraphExecutor(graph, bind_kernels(graph), preserve_all_tensors=True)
    seen = {}
    for x in data:
        ex.run({"x": x})
        for name in ("x", "h", "y"):
            v = ex.values[name]
            lo, hi = seen.get(name, (np.inf, -np.inf))
            seen[name] = (min(lo, float(v.min())), max(hi, float(v.max())))
    return seen


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_minmax_ranges_are_exact(batch_size):
    graph, data = two_layer_graph(), samples()
    ranges = calibrate(graph, lambda: ([x] for x in data), batch_size=batch_size,
                       progress=False)
    want = exact_ranges(graph, data)
    assert set(ranges) == {"x", "h", "y"}
    for name, (lo, hi) in want.items():
        assert ranges[name] == pytest.approx((lo, hi), rel=1e-6, abs=1e-6)
    assert ranges["h"][0] == 0.0  # after the fused RELU


def test_samples_as_dicts_by_signature_name_and_plain_generators():
    graph, data = two_layer_graph(), samples()
    by_list = calibrate(graph, lambda: ([x] for x in data), progress=False)
    by_dict = calibrate(graph, lambda: ({"features": x} for x in data), progress=False)
    by_iterable = calibrate(graph, [[x] for x in data], progress=False)
    assert by_list == by_dict == by_iterable


def test_per_tensor_method_by_layer_name():
    graph, data = two_layer_graph(), samples(400)
    data[3, 0, 0] = 40.0  # an outlier in the input
    ranges = calibrate(graph, lambda: ([x] for x in data), method="minmax",
                       per_tensor={"x": "percentile:99"}, progress=False)
    assert ranges["x"][1] < 10
    by_layer = calibrate(graph, lambda: ([x] for x in data), method="minmax",
                         per_tensor={"dense_1": "percentile:99"}, progress=False)
    assert by_layer["x"][1] == 40.0 and by_layer["h"][1] < ranges["h"][1]
    with pytest.raises(QuantizationError, match="no tensor or layer"):
        calibrate(graph, lambda: ([x] for x in data), per_tensor={"nope": "mse"},
                  progress=False)


def test_model_hard_coding_batch_one_runs_sample_by_sample():
    g = two_layer_graph()
    g.add_tensor(Tensor("shape", (2,), np.int32, np.array([1, 3], np.int32)))
    g.add_tensor(Tensor("r", (1, 3), np.float32))
    g.add_op(Op("RESHAPE", ["y", "shape"], ["r"], {"new_shape": [1, 3]}))
    g.outputs = ["r"]
    data = samples()
    ranges = calibrate(g, lambda: ([x] for x in data), batch_size=16, progress=False)
    assert ranges["r"] == pytest.approx(exact_ranges(two_layer_graph(), data)["y"])


@pytest.mark.parametrize("dataset, message", [
    (lambda: iter(()), "no samples"),
    (lambda: ([np.zeros((1, 5), np.float32)] for _ in range(2)), r"shape \(1, 5\)"),
    (lambda: ([np.zeros((1, 6)), np.zeros((1, 6))] for _ in range(2)), "has 2 arrays"),
    (lambda: ([np.full((1, 6), np.nan, np.float32)] for _ in range(2)), "NaN"),
    (lambda: ([np.full((1, 6), np.inf, np.float32)] for _ in range(2)), "Inf"),
    (lambda: ([np.array([["a"] * 6])] for _ in range(2)), "not a real number"),
    (lambda: ({"wrong": np.zeros((1, 6))} for _ in range(2)), "do not match"),
    (lambda: 42, "iterable"),
])
def test_bad_calibration_data(dataset, message):
    with pytest.raises(QuantizationError, match=message) as info:
        calibrate(two_layer_graph(), dataset, progress=False)
    assert "sample" in str(info.value) or "iterable" in str(info.value)


def test_bad_sample_is_named_by_index_and_input():
    def dataset():
        yield [np.zeros((1, 6), np.float32)]
        yield [np.zeros((1, 6), np.float32)]
        yield [np.full((1, 6), np.nan, np.float32)]

    with pytest.raises(QuantizationError, match="sample 2, input 'x'"):
        calibrate(two_layer_graph(), dataset, progress=False)


MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from tests.quantize.test_calibrate import two_layer_graph
    from edgeport.graph import Graph, Op, Tensor
    from edgeport.quantize import calibrate

    n, method = int(sys.argv[1]), sys.argv[2]
    g = Graph(name="main")
    g.add_tensor(Tensor("x", (1, 64, 64, 16), np.float32))
    g.add_tensor(Tensor("y", (1, 64, 64, 16), np.float32))
    g.add_tensor(Tensor("c", (16,), np.float32, np.ones(16, np.float32)))
    g.add_op(Op("ADD", ["x", "c"], ["y"], {"fused_activation_function": "RELU"}))
    g.inputs, g.outputs = ["x"], ["y"]

    def dataset():
        rng = np.random.default_rng(0)
        for _ in range(n):
            yield [rng.normal(size=(1, 64, 64, 16)).astype(np.float32)]

    calibrate(g, dataset, method=method, batch_size=16, progress=False)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


@pytest.mark.parametrize("method", ["minmax", "entropy"])
def test_memory_does_not_grow_with_samples(method):
    """Peak RSS over 1,000 samples is within 10% of over 100 (each sample is 256 KB, so
    keeping them would add 250 MB)."""
    def peak(n):
        out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(n), method],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        return int(out.stdout.split()[-1])

    small, large = peak(100), peak(1000)
    assert large <= 1.10 * small, (small, large)


ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
