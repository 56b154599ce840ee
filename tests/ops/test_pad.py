import numpy as np
import pytest

from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph

PADDINGS = [((0, 0), (1, 2), (3, 0)), ((1, 1), (0, 0), (0, 0)), ((0, 0), (0, 0), (0, 0)),
            ((2, 3), (4, 1), (1, 1))]


@pytest.mark.parametrize("paddings", PADDINGS)
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_pad(paddings, index_dtype):
    assert_matches_litert(op_graph("PAD", [Input((2, 3, 4)), np.array(paddings, index_dtype)]))


@pytest.mark.parametrize("paddings", PADDINGS)
@pytest.mark.parametrize("value", [0.0, -2.5, 7.0])
def test_padv2(paddings, value):
    graph = op_graph("PADV2", [Input((2, 3, 4)), np.array(paddings, np.int32),
                               np.array(value, np.float32)])
    out = assert_matches_litert(graph)
    if value and any(any(p) for p in paddings):
        assert (out[0] == value).any()


@pytest.mark.parametrize("dtype,value", [(np.int32, -7), (np.int64, 9), (np.int8, -3),
                                         (np.uint8, 200)])
def test_padv2_dtypes(dtype, value):
    graph = op_graph("PADV2", [Input((3, 2), dtype), np.array([[1, 0], [2, 1]], np.int32),
                               np.array([value], dtype)])
    assert_matches_litert(graph)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.bool_])
def test_pad_dtypes(dtype):
    assert_matches_litert(op_graph("PAD", [Input((3, 2), dtype),
                                           np.array([[1, 0], [2, 1]], np.int32)]))


def test_pad_5d():
    assert_matches_litert(op_graph("PAD", [Input((1, 2, 3, 2, 2)),
                                           np.array([[0, 1], [1, 0], [0, 0], [2, 1], [1, 1]],
                                                    np.int32)]))


def test_pad_runtime_paddings():
    graph = op_graph("PAD", [Input((2, 3)), Input((2, 2), np.int32)])
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = assert_matches_litert(graph, [x, np.array([[1, 0], [0, 2]], np.int32)])
    assert out[0].shape == (3, 5)


@pytest.mark.parametrize("op_type", ["PAD", "PADV2"])
@pytest.mark.parametrize("shape,dtype,version", [
    ((2, 3), np.float32, 1), ((2, 3), np.int8, 2), ((2, 3), np.int16, 3),
    ((1, 1, 1, 2, 3), np.float32, 4)])
def test_pad_version(op_type, shape, dtype, version):
    graph = op_graph(op_type, [Input(shape, dtype), np.zeros((len(shape), 2), np.int32)])
    assert get_op(op_type).version(graph.ops[0], graph) == version
