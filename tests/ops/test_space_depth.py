import numpy as np
import pytest

from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph

DTYPES = [np.float32, np.int8, np.uint8, np.int32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,block", [((1, 2, 3, 4), 2), ((2, 3, 2, 18), 3), ((3, 1, 1, 8), 2),
                                         ((1, 4, 4, 5), 1)])
def test_depth_to_space_matches_litert(shape, block, dtype):
    graph = op_graph("DEPTH_TO_SPACE", [Input(shape, dtype)], {"block_size": block},
                     output_dtypes=[dtype])
    # LiteRT's BUILTIN_REF resolver registers DEPTH_TO_SPACE at version 1 only, and int8 needs
    # version 2; the default kernels (pure data movement, so exact too) judge that case.
    assert_matches_litert(graph, rtol=0, atol=0, reference=dtype != np.int8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,block", [((1, 4, 6, 3), 2), ((2, 6, 3, 2), 3), ((3, 2, 2, 1), 2),
                                         ((1, 4, 4, 5), 1)])
def test_space_to_depth_matches_litert(shape, block, dtype):
    graph = op_graph("SPACE_TO_DEPTH", [Input(shape, dtype)], {"block_size": block},
                     output_dtypes=[dtype])
    assert_matches_litert(graph, rtol=0, atol=0)


def test_depth_to_space_is_dcr():
    # Channel (i * block + j) * C + c lands at pixel (i, j) of the block, channel c.
    x = np.arange(8, dtype=np.float32).reshape(1, 1, 1, 8)
    graph = op_graph("DEPTH_TO_SPACE", [Input((1, 1, 1, 8))], {"block_size": 2})
    (out,) = assert_matches_litert(graph, [x])
    np.testing.assert_array_equal(out[0, :, :, 0], [[0, 2], [4, 6]])
    np.testing.assert_array_equal(out[0, :, :, 1], [[1, 3], [5, 7]])


def test_space_to_depth_inverts_depth_to_space():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 12)).astype(np.float32)
    to_space, to_depth = get_op("DEPTH_TO_SPACE"), get_op("SPACE_TO_DEPTH")
    space = to_space.run_float({"block_size": 2}, x)
    np.testing.assert_array_equal(to_depth.run_float({"block_size": 2}, space), x)


@pytest.mark.parametrize("op_type", ["DEPTH_TO_SPACE", "SPACE_TO_DEPTH"])
@pytest.mark.parametrize("dtype,version", [(np.float32, 1), (np.int8, 2), (np.uint8, 1)])
def test_space_depth_version(op_type, dtype, version):
    graph = op_graph(op_type, [Input((1, 2, 2, 4), dtype)], {"block_size": 2},
                     output_dtypes=[dtype])
    assert get_op(op_type).version(graph.ops[0], graph) == version
