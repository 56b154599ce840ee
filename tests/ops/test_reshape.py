import numpy as np
import pytest

from edgeport.graph import Graph
from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph


@pytest.mark.parametrize("new_shape", [(6, 4), (-1, 4), (2, -1, 2), (24,), (1, 2, 3, 4, 1)])
@pytest.mark.parametrize("source", ["tensor", "option", "both"])
def test_reshape(new_shape, source):
    shape = np.array(new_shape, np.int32)
    inputs = [Input((2, 3, 4))] + ([shape] if source != "option" else [])
    # "both": the shape tensor wins over a (deliberately wrong) option.
    attrs = {"new_shape": new_shape if source == "option" else (24,) if source == "both" else ()}
    assert_matches_litert(op_graph("RESHAPE", inputs, attrs))


def test_reshape_runtime_shape_tensor():
    graph = op_graph("RESHAPE", [Input((2, 3, 4)), Input((3,), np.int32)])
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    out = assert_matches_litert(graph, [x, np.array([4, -1, 2], np.int32)])
    assert out[0].shape == (4, 3, 2)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8, np.bool_])
def test_reshape_dtypes(dtype):
    assert_matches_litert(op_graph("RESHAPE", [Input((2, 3), dtype), np.array([3, 2], np.int32)]))


@pytest.mark.parametrize("dims", [(), (0,), (-1,), (0, 3), (-4, 2), (3, 0, 0)])
def test_squeeze(dims):
    assert_matches_litert(op_graph("SQUEEZE", [Input((1, 3, 1, 1))], {"squeeze_dims": dims}))


@pytest.mark.parametrize("axis", [0, 1, 3, -1, -4])
@pytest.mark.parametrize("axis_dtype", [np.int32, np.int64])
def test_expand_dims(axis, axis_dtype):
    assert_matches_litert(op_graph("EXPAND_DIMS", [Input((2, 3, 4)), np.array(axis, axis_dtype)]))


def test_expand_dims_runtime_axis():
    graph = op_graph("EXPAND_DIMS", [Input((2, 3), np.int32), Input((1,), np.int32)])
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert assert_matches_litert(graph, [x, np.array([-1], np.int32)])[0].shape == (2, 3, 1)


@pytest.mark.parametrize("perm", [(0, 1, 2), (2, 0, 1), (1, 0, 2), (2, 1, 0)])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.bool_, np.int64])
def test_transpose(perm, dtype):
    assert_matches_litert(op_graph("TRANSPOSE", [Input((2, 3, 4), dtype), np.array(perm, np.int32)]))


def test_transpose_5d_runtime_perm():
    graph = op_graph("TRANSPOSE", [Input((2, 3, 1, 4, 5)), Input((5,), np.int32)])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 1, 4, 5)).astype(np.float32)
    out = assert_matches_litert(graph, [x, np.array([4, 0, 3, 1, 2], np.int32)])
    assert out[0].shape == (5, 2, 4, 3, 1)


@pytest.mark.parametrize("out_type", ["INT32", "INT64"])
@pytest.mark.parametrize("shape", [(2, 3, 4), (5,), (1, 1, 2, 3, 4, 5)])
def test_shape(out_type, shape):
    graph = op_graph("SHAPE", [Input(shape)], {"out_type": out_type})
    out = assert_matches_litert(graph)
    assert out[0].tolist() == list(shape)


CASTS = [(np.float32, np.int32), (np.float32, np.int64), (np.float32, np.bool_),
         (np.bool_, np.float32), (np.bool_, np.int32), (np.int32, np.float32),
         (np.int32, np.bool_), (np.int64, np.int32), (np.int32, np.int64),
         (np.uint8, np.float32), (np.int8, np.float32), (np.float32, np.int8),
         (np.int32, np.uint8)]


@pytest.mark.parametrize("src,dst", CASTS)
def test_cast(src, dst):
    graph = op_graph("CAST", [Input((3, 7), src)], output_dtypes=[dst])
    rng = np.random.default_rng(0)
    if src == np.float32:  # negative fractions: C casts truncate toward zero
        x = rng.uniform(-100, 100, (3, 7)).astype(src)
        x[0, :4] = [-2.5, -0.5, 0.0, 2.9]
    elif src == np.bool_:
        x = rng.integers(0, 2, (3, 7)).astype(bool)
    else:
        x = rng.integers(0, 100 if src == np.int8 else 200, (3, 7)).astype(src)
        if np.issubdtype(src, np.signedinteger):
            x[0] = -x[0]
    out = assert_matches_litert(graph, [x])
    assert out[0].dtype == dst


def test_cast_truncates_toward_zero():
    graph = op_graph("CAST", [Input((4,))], output_dtypes=[np.int32])
    out = assert_matches_litert(graph, [np.array([-2.7, -0.2, 0.9, 3.5], np.float32)])
    assert out[0].tolist() == [-2, 0, 0, 3]


def _single_op_graph(op_type, inputs, attrs=None, output_dtypes=None):
    graph = op_graph(op_type, inputs, attrs, output_dtypes=output_dtypes)
    return graph.ops[0], graph


@pytest.mark.parametrize("src,dst,version", [
    (np.float32, np.int32, 1), (np.int8, np.float32, 3), (np.float32, np.float16, 5),
    (np.uint32, np.int32, 2), (np.uint16, np.int32, 4)])
def test_cast_version(src, dst, version):
    op, graph = _single_op_graph("CAST", [Input((2,), src)], output_dtypes=[dst])
    assert get_op("CAST").version(op, graph) == version


@pytest.mark.parametrize("shape,dtype,version", [
    ((2, 3), np.float32, 1), ((2, 3), np.int8, 2), ((2, 3), np.bool_, 3),
    ((1, 2, 3, 4, 5), np.float32, 4), ((2, 3), np.int16, 5), ((1,) * 6, np.float32, 6)])
def test_transpose_version(shape, dtype, version):
    perm = np.arange(len(shape))[::-1].astype(np.int32)
    op, graph = _single_op_graph("TRANSPOSE", [Input(shape, dtype), perm])
    assert get_op("TRANSPOSE").version(op, graph) == version
    assert isinstance(graph, Graph)
