import numpy as np
import pytest

from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph

AXES = [(1,), (-1,), (0, 2), (2, -1), (0, 1, 2), (-3, 1), (1, 1, -2)]


@pytest.mark.parametrize("op_type", ["MEAN", "SUM", "REDUCE_MAX"])
@pytest.mark.parametrize("axes", AXES)
@pytest.mark.parametrize("keep_dims", [False, True])
def test_reduce(op_type, axes, keep_dims):
    graph = op_graph(op_type, [Input((3, 4, 5)), np.array(axes, np.int32)],
                     {"keep_dims": keep_dims})
    assert_matches_litert(graph)


@pytest.mark.parametrize("op_type", ["MEAN", "SUM", "REDUCE_MAX"])
def test_reduce_4d_spatial(op_type):
    # The (1, 2) spatial reduction of NHWC (global pooling) has its own TFLite fast path.
    graph = op_graph(op_type, [Input((2, 7, 6, 3)), np.array([1, 2], np.int32)],
                     {"keep_dims": True})
    assert_matches_litert(graph, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("op_type", ["MEAN", "SUM", "REDUCE_MAX"])
@pytest.mark.parametrize("shape,axes", [((2, 0), (0,)), ((0, 5), (1,)), ((2, 0, 3), (0, 2))])
def test_reduce_keeping_an_empty_axis(op_type, shape, axes):
    out = get_op(op_type).run_float({"keep_dims": False}, np.zeros(shape, np.float32),
                                     np.array(axes, np.int32))
    assert out.shape == tuple(n for i, n in enumerate(shape) if i not in axes)


def test_float_sum_is_one_chain_per_output_in_row_major_order():
    # TFLite's reference kernels add the reduced elements one after the other; a pairwise or
    # axis-by-axis sum rounds differently (and lands further from LiteRT on mediapipe models).
    x = np.random.default_rng(0).standard_normal((2, 30, 40, 3)).astype(np.float32) * 1e3
    chain = np.zeros((2, 3), np.float32)
    for h in range(30):
        for w in range(40):
            chain += x[:, h, w]
    out = get_op("SUM").run_float({"keep_dims": False}, x, np.array([1, 2], np.int32))
    np.testing.assert_array_equal(out, chain)


@pytest.mark.parametrize("op_type", ["MEAN", "SUM", "REDUCE_MAX"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("axes", [(1,), (0, -1)])
def test_reduce_int(op_type, dtype, axes):
    graph = op_graph(op_type, [Input((3, 4, 5), dtype), np.array(axes, np.int32)])
    x = np.random.default_rng(3).integers(-50, 50, (3, 4, 5)).astype(dtype)
    assert_matches_litert(graph, [x])


def test_mean_int_truncates_toward_zero():
    graph = op_graph("MEAN", [Input((2, 3), np.int32), np.array([1], np.int32)])
    out = assert_matches_litert(graph, [np.array([[-7, 3, 2], [5, -1, 1]], np.int32)])
    assert out[0].tolist() == [0, 1]


@pytest.mark.parametrize("op_type", ["MEAN", "SUM"])
def test_reduce_int32_large(op_type):
    # MEAN accumulates int32 in int64 (no overflow); SUM wraps in int32.
    graph = op_graph(op_type, [Input((2, 3), np.int32), np.array([1], np.int32)])
    assert_matches_litert(graph, [np.array([[2**30, 2**30, 2**30], [1, 2, -4]], np.int32)])


def test_reduce_max_empty_axis():
    graph = op_graph("REDUCE_MAX", [Input((2, 0, 3)), np.array([1], np.int32)])
    out = assert_matches_litert(graph, [np.zeros((2, 0, 3), np.float32)])
    assert (out[0] == np.finfo(np.float32).min).all()


def test_reduce_runtime_axis():
    graph = op_graph("SUM", [Input((3, 4)), Input((1,), np.int32)], {"keep_dims": True})
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = assert_matches_litert(graph, [x, np.array([-1], np.int32)])
    assert out[0].shape == (3, 1)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("output_type", ["INT32", "INT64"])
@pytest.mark.parametrize("axis_dtype", [np.int32, np.int64])
def test_arg_max(axis, output_type, axis_dtype):
    graph = op_graph("ARG_MAX", [Input((3, 4, 5)), np.array([axis], axis_dtype)],
                     {"output_type": output_type})
    out = assert_matches_litert(graph)
    assert out[0].dtype == (np.int32 if output_type == "INT32" else np.int64)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.int8, np.bool_])
def test_arg_max_dtypes(dtype):
    graph = op_graph("ARG_MAX", [Input((4, 6), dtype), np.array([1], np.int32)],
                     {"output_type": "INT32"})
    # BUILTIN_REF registers ARG_MAX only up to version 2; bool input is version 3.
    assert_matches_litert(graph, reference=dtype != np.bool_)


def test_arg_max_ties_take_first():
    graph = op_graph("ARG_MAX", [Input((2, 4)), np.array([1], np.int32)],
                     {"output_type": "INT64"})
    x = np.array([[1, 3, 3, 0], [2, 2, 2, 2]], np.float32)
    assert assert_matches_litert(graph, [x])[0].tolist() == [1, 0]


@pytest.mark.parametrize("op_type,dtype,version", [
    ("MEAN", np.float32, 1), ("MEAN", np.int8, 2), ("MEAN", np.int16, 3),
    ("REDUCE_MAX", np.int8, 2), ("SUM", np.int8, 2), ("SUM", np.int16, 1)])
def test_reduce_version(op_type, dtype, version):
    graph = op_graph(op_type, [Input((2, 3), dtype), np.array([1], np.int32)])
    assert get_op(op_type).version(graph.ops[0], graph) == version


@pytest.mark.parametrize("dtype,version", [(np.float32, 1), (np.int8, 2), (np.bool_, 3)])
def test_arg_max_version(dtype, version):
    graph = op_graph("ARG_MAX", [Input((2, 3), dtype), np.array([1], np.int32)],
                     {"output_type": "INT32"})
    assert get_op("ARG_MAX").version(graph.ops[0], graph) == version
