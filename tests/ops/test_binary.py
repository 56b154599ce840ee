import numpy as np
import pytest

from edgeport.errors import GraphError
from edgeport.export.tflite import write_tflite
from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph
from tests.oracles.litert import run_edgeport, run_litert

FLOAT_OPS = ["ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM"]
FUSED_OPS = ["ADD", "SUB", "MUL", "DIV"]
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
BROADCASTS = [
    ((2, 3, 4), (2, 3, 4)),
    ((2, 3, 4), (4,)),
    ((1, 3, 1), (2, 1, 5)),
    ((3,), (2, 3)),
    ((2, 3, 4, 5), ()),
    ((2, 1, 3, 4, 5), (3, 1, 5)),                   # 5-D broadcast
    ((2, 1, 3, 1, 2, 3), (1, 4, 1, 2, 1, 3)),       # 6-D broadcast, both sides
    ((1, 2, 1, 2, 1, 2), (1, 2, 1, 2, 1, 2)),       # 6-D, same shapes
    ((2, 6, 5, 3), (2, 1, 1, 3)),                   # squeeze-excite scale: rows folded
    ((1, 1, 3), (2, 6, 5, 3)),                      # a per-channel constant first
]


def int_inputs(shapes, dtype, seed=0, nonzero_second=False):
    rng = np.random.default_rng(seed)
    x = rng.integers(-50, 50, shapes[0]).astype(dtype)
    y = rng.integers(-9, 10, shapes[1]).astype(dtype)
    if nonzero_second:
        y[y == 0] = 7
    return [x, y]


def binary_graph(op_type, shapes, dtype=np.float32, attrs=None):
    return op_graph(op_type, [Input(shapes[0], dtype), Input(shapes[1], dtype)], attrs,
                    output_dtypes=[dtype])


@pytest.mark.parametrize("op_type", FLOAT_OPS)
@pytest.mark.parametrize("shapes", BROADCASTS)
def test_float_broadcasting_matches_litert(op_type, shapes):
    assert_matches_litert(binary_graph(op_type, shapes))


@pytest.mark.parametrize("op_type", FUSED_OPS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 3, 4)), ((1, 3, 1), (2, 1, 5))])
def test_fused_activation_matches_litert(op_type, activation, shapes):
    graph = binary_graph(op_type, shapes, attrs={"fused_activation_function": activation})
    assert_matches_litert(graph)


@pytest.mark.parametrize("op_type", FLOAT_OPS)
@pytest.mark.parametrize("shapes", [((2, 3, 4), (2, 3, 4)), ((2, 3, 4), (4,)),
                                    ((2, 1, 3, 1, 2, 3), (1, 4, 1, 2, 1, 3))])
def test_int32_matches_litert(op_type, shapes):
    graph = binary_graph(op_type, shapes, np.int32)
    got = assert_matches_litert(graph, int_inputs(shapes, np.int32, nonzero_second=True))
    assert got[0].dtype == np.int32


@pytest.mark.parametrize("op_type", ["ADD", "SUB", "MUL", "MAXIMUM", "MINIMUM"])
def test_int64_matches_litert(op_type):
    shapes = ((2, 3, 4), (3, 1))
    assert_matches_litert(binary_graph(op_type, shapes, np.int64),
                          int_inputs(shapes, np.int64))


@pytest.mark.parametrize("op_type", FUSED_OPS)
@pytest.mark.parametrize("activation", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_int32_fused_activation_matches_litert(op_type, activation):
    shapes = ((4, 6), (6,))
    graph = binary_graph(op_type, shapes, np.int32, {"fused_activation_function": activation})
    assert_matches_litert(graph, int_inputs(shapes, np.int32, nonzero_second=True))


def test_int32_div_truncates_toward_zero():
    x = np.array([7, -7, 7, -7, 6, -6, 0, 2**31 - 1], np.int32)
    y = np.array([2, 2, -2, -2, 3, 4, -5, 3], np.int32)
    got = assert_matches_litert(binary_graph("DIV", ((8,), (8,)), np.int32), [x, y])
    np.testing.assert_array_equal(got[0], [3, -3, -3, 3, 2, -1, 0, 715827882])


def test_int32_div_by_zero_is_refused_like_litert():
    model = write_tflite(binary_graph("DIV", ((3,), (3,)), np.int32))
    inputs = [np.array([1, 2, 3], np.int32), np.array([1, 0, 1], np.int32)]
    with pytest.raises(RuntimeError):
        run_litert(model, inputs)
    with pytest.raises(GraphError, match="division by zero"):
        run_edgeport(model, inputs)


@pytest.mark.parametrize("op_type", ["MAXIMUM", "MINIMUM"])
def test_maximum_minimum_nan_like_litert(op_type):
    # TFLite compares ``x > y ? x : y``: a NaN in x yields y, a NaN in y yields NaN.
    x = np.array([np.nan, 1, 2, np.nan, -np.inf, np.inf], np.float32)
    y = np.array([1, np.nan, 1, np.nan, 0, 0], np.float32)
    assert_matches_litert(binary_graph(op_type, ((6,), (6,))), [x, y])


@pytest.mark.parametrize("op_type", FLOAT_OPS)
def test_overflow_inf_and_nan_match_litert(op_type):
    # ADD/SUB/MUL/DIV clamp to [lowest, max] even without an activation: overflow and inf
    # inputs give +-FLT_MAX there.
    x = np.array([3e38, -3e38, 1e-38, 1e30, -1e30, np.inf, np.inf, np.nan, 1, 0], np.float32)
    y = np.array([3e38, 3e38, 1e-38, 1e-20, 1e20, 1, np.inf, 1, 0, 0], np.float32)
    assert_matches_litert(binary_graph(op_type, ((10,), (10,))), [x, y])


@pytest.mark.parametrize("op_type,dtype,shapes,expected", [
    ("ADD", np.float32, ((2, 3), (3,)), 1),
    ("ADD", np.int32, ((2, 3), (3,)), 1),
    ("ADD", np.int64, ((2, 3), (2, 3)), 4),
    ("ADD", np.float32, ((1, 2, 1, 2, 3), (3,)), 1),
    ("SUB", np.int64, ((1, 2, 1, 2, 3), (3,)), 4),
    ("SUB", np.float32, ((1, 2, 1, 2, 3), (3,)), 3),
    ("SUB", np.float32, ((1, 2, 1, 2, 3), (1, 2, 1, 2, 3)), 1),  # same shapes: no broadcast
    ("SUB", np.float32, ((2, 2, 3, 3), (3,)), 1),
    ("MUL", np.int64, ((2, 3), (3,)), 5),
    ("MUL", np.int32, ((1, 2, 1, 2, 3), (3,)), 1),
    ("DIV", np.float32, ((1, 2, 1, 2, 1, 3), (3,)), 2),
    ("DIV", np.int32, ((2, 3), (3,)), 1),
    ("MAXIMUM", np.float32, ((1, 2, 1, 2, 3), (3,)), 3),
    ("MINIMUM", np.int64, ((2, 3), (3,)), 1),
    ("MINIMUM", np.float32, ((3,), (1, 1, 1, 2, 3)), 3),
    ("SQUARED_DIFFERENCE", np.float32, ((1, 2, 1, 2, 3), (3,)), 1),
])
def test_version_follows_op_version_cc(op_type, dtype, shapes, expected):
    graph = binary_graph(op_type, shapes, dtype)
    assert get_op(op_type).version(graph.ops[0], graph) == expected
