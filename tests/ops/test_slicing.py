import numpy as np
import pytest

from edgeport.export.tflite import write_tflite
from edgeport.ops import get_op
from tests.oracles.litert import run_edgeport
from tests.opmodels import Input, assert_matches_litert, op_graph


def i32(*values):
    return np.array(values, np.int32)


def strided_slice(shape, begin, end, strides, dtype=np.float32, **masks):
    return op_graph("STRIDED_SLICE", [Input(shape, dtype), i32(*begin), i32(*end), i32(*strides)],
                    masks)


STRIDED_CASES = [
    # (begin, end, strides, masks) on a (4, 5, 6) input
    ((0, 0, 0), (4, 5, 6), (1, 1, 1), {}),
    ((1, 1, 1), (3, 4, 5), (1, 2, 2), {}),
    ((-3, -4, -1), (-1, -1, -7), (1, 1, -1), {}),  # negative indices, backward last axis
    ((3, 4, 5), (0, 0, 0), (-1, -2, -3), {}),
    ((-10, 1, 2), (10, 100, 4), (1, 1, 1), {}),  # begin/end beyond bounds are clamped
    ((10, -10, 7), (-10, 10, -10), (-1, 1, -2), {}),
    ((2, 3, 4), (0, 0, 0), (1, -1, 1), {"begin_mask": 0b101, "end_mask": 0b110}),
    ((2, 3, 4), (1, 1, 1), (-1, -1, -2), {"begin_mask": 0b010, "end_mask": 0b011}),
    ((1, 2, 3), (2, 3, 4), (1, 1, 1), {"shrink_axis_mask": 0b010}),
    ((-1, 0, -2), (0, 5, 0), (1, 1, 1), {"shrink_axis_mask": 0b101}),
    ((1, 0, 0), (0, 5, 6), (1, 1, 2), {"shrink_axis_mask": 0b001, "end_mask": 0b100}),
    ((1, 0), (3, 3), (1, 1), {}),  # fewer spec entries than input dims: the rest whole
    ((0, 1, 0), (0, 3, 6), (1, 1, 1), {"ellipsis_mask": 0b001}),  # [..., 1:3, :]
    ((0, 1), (0, 4), (1, 2), {"ellipsis_mask": 0b001}),  # [..., 1:4:2]
    ((1, 0), (3, 0), (1, 1), {"ellipsis_mask": 0b010}),  # [1:3, ...]
    ((0, 2, 0), (0, 4, 0), (1, 1, 1), {"new_axis_mask": 0b001, "ellipsis_mask": 0b100}),
    ((1, 0, 2), (3, 0, 5), (1, 1, 1), {"new_axis_mask": 0b010}),  # [1:3, None, 2:5]
    ((1, 0, 2), (2, 0, 5), (1, 1, 1), {"new_axis_mask": 0b010, "shrink_axis_mask": 0b001}),
    ((0, 3), (0, 4), (1, 1), {"ellipsis_mask": 0b001, "shrink_axis_mask": 0b010}),
]


# LiteRT's BUILTIN_REF resolver registers STRIDED_SLICE only up to version 5; ellipsis and
# new-axis masks (version 6) and offset (version 8) are checked against its builtin kernel,
# which shares the reference index logic (strided_slice_logic.h).
def needs_builtin(masks):
    return bool(masks.get("ellipsis_mask") or masks.get("new_axis_mask") or masks.get("offset"))


@pytest.mark.parametrize("begin,end,strides,masks", STRIDED_CASES)
def test_strided_slice(begin, end, strides, masks):
    assert_matches_litert(strided_slice((4, 5, 6), begin, end, strides, **masks),
                          reference=not needs_builtin(masks))


@pytest.mark.parametrize("begin,size,strides", [((1, 0, 2), (2, 3, 3), (1, 1, 1)),
                                                ((-3, 1, 0), (2, 2, 6), (1, 2, 3))])
def test_strided_slice_offset(begin, size, strides):
    assert_matches_litert(strided_slice((4, 5, 6), begin, size, strides, offset=True),
                          reference=False)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.uint8, np.bool_])
def test_strided_slice_dtypes(dtype):
    assert_matches_litert(strided_slice((4, 5), (3, 0), (0, 5), (-1, 2), dtype))


def test_strided_slice_5d():
    assert_matches_litert(strided_slice((2, 3, 4, 5, 6), (1, 0, 1, 2, 5), (2, 3, 3, 5, 0),
                                        (1, 2, 1, 2, -2)))


def test_strided_slice_runtime_indices():
    graph = op_graph("STRIDED_SLICE", [Input((4, 5)), Input((2,), np.int32),
                                       Input((2,), np.int32), Input((2,), np.int32)])
    x = np.arange(20, dtype=np.float32).reshape(4, 5)
    out = assert_matches_litert(graph, [x, i32(3, 1), i32(0, 5), i32(-1, 2)])
    assert out[0].shape == (3, 2)


@pytest.mark.parametrize("begin,size", [((0, 0, 0), (2, 3, 4)), ((1, 1, 2), (1, -1, 2)),
                                        ((0, 2, 1), (-1, 1, -1))])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_slice(begin, size, index_dtype):
    graph = op_graph("SLICE", [Input((2, 3, 4)), np.array(begin, index_dtype),
                               np.array(size, index_dtype)])
    assert_matches_litert(graph)


@pytest.mark.parametrize("dtype", [np.int32, np.bool_, np.int8])
def test_slice_dtypes(dtype):
    assert_matches_litert(op_graph("SLICE", [Input((3, 4), dtype), i32(1, 1), i32(-1, 2)]))


def test_slice_runtime_begin():
    graph = op_graph("SLICE", [Input((3, 4)), Input((2,), np.int32), i32(2, 2)])
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert assert_matches_litert(graph, [x, i32(1, 2)])[0].tolist() == [[6, 7], [10, 11]]


@pytest.mark.parametrize("axis,batch_dims,indices_shape", [
    (0, 0, (5,)), (1, 0, (2, 3)), (-1, 0, (4,)), (2, 0, ()), (-3, 0, (3, 2)),
    (1, 1, (2, 3)), (2, 1, (2, 2, 2)), (2, 2, (2, 3, 5)), (-1, -1, (2, 3, 4)), (2, -2, (2, 3))])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_gather(axis, batch_dims, indices_shape, index_dtype):
    params_shape = (2, 3, 4, 5)
    resolved = axis % 4
    indices = np.random.default_rng(2).integers(0, params_shape[resolved], indices_shape)
    graph = op_graph("GATHER", [Input(params_shape), indices.astype(index_dtype)],
                     {"axis": axis, "batch_dims": batch_dims})
    assert_matches_litert(graph)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.bool_])
def test_gather_dtypes(dtype):
    graph = op_graph("GATHER", [Input((4, 3), dtype), i32(3, 0, 0, 2)], {"axis": 0})
    assert_matches_litert(graph)


def test_gather_from_constant_integer_table():
    """An embedding table of int32 constants indexed at run time (jax: the table is a device
    constant, not a NumPy array a tracer cannot index)."""
    table = np.arange(12, dtype=np.int32).reshape(4, 3)
    graph = op_graph("GATHER", [table, Input((2, 2), np.int32)], {"axis": 0})
    assert_matches_litert(graph, [np.array([[3, 1], [0, 0]], np.int32)])


def test_gather_runtime_indices():
    graph = op_graph("GATHER", [Input((4, 3)), Input((2, 2), np.int32)], {"axis": 0})
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert_matches_litert(graph, [x, np.array([[3, 1], [0, 0]], np.int32)])


@pytest.mark.parametrize("axis,num", [(0, 2), (1, 3), (-1, 4), (-3, 1), (2, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8])
def test_split(axis, num, dtype):
    graph = op_graph("SPLIT", [i32(axis), Input((2, 3, 4), dtype)], {"num_splits": num},
                     n_outputs=num)
    assert_matches_litert(graph)


@pytest.mark.parametrize("sizes,axis", [((1, 2, 1), 2), ((2, -1), -1), ((-1, 1, 1), 1),
                                        ((3,), -2), ((0, 2, -1), 2)])
def test_split_v(sizes, axis):
    graph = op_graph("SPLIT_V", [Input((2, 3, 4)), i32(*sizes), i32(axis)],
                     {"num_splits": len(sizes)}, n_outputs=len(sizes))
    assert_matches_litert(graph)


def test_split_v_runtime_sizes():
    graph = op_graph("SPLIT_V", [Input((2, 6)), Input((3,), np.int32), i32(1)],
                     {"num_splits": 3}, n_outputs=3)
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    out = assert_matches_litert(graph, [x, i32(1, -1, 4)])
    assert [o.shape[1] for o in out] == [1, 1, 4]


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -4])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.int8])
def test_pack(axis, dtype):
    graph = op_graph("PACK", [Input((2, 3, 4), dtype)] * 3, {"values_count": 3, "axis": axis})
    assert_matches_litert(graph)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.bool_])
def test_unpack(axis, dtype):
    shape = (2, 3, 4)
    num = shape[axis]
    graph = op_graph("UNPACK", [Input(shape, dtype)], {"num": num, "axis": axis}, n_outputs=num)
    assert_matches_litert(graph)


def concat_case(axis, activation):
    shapes = [[2, 3, 4] for _ in range(3)]
    for i, shape in enumerate(shapes):
        shape[axis] += i
    graph = op_graph("CONCATENATION", [Input(tuple(s)) for s in shapes],
                     {"axis": axis, "fused_activation_function": activation})
    values = [np.random.default_rng(i).uniform(-8, 8, s).astype(np.float32)
              for i, s in enumerate(shapes)]
    return graph, values


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_concatenation(axis):
    assert_matches_litert(*concat_case(axis, "NONE"))


# LiteRT's CONCATENATION refuses a fused activation in Prepare (its kernels have none), so the
# schema's meaning, the activation applied to the result, is checked against NumPy.
@pytest.mark.parametrize("activation,lo,hi", [("RELU", 0, None), ("RELU6", 0, 6),
                                              ("RELU_N1_TO_1", -1, 1)])
def test_concatenation_fused_activation(activation, lo, hi):
    graph, values = concat_case(1, activation)
    out = run_edgeport(write_tflite(graph), values)[0]
    np.testing.assert_array_equal(out, np.clip(np.concatenate(values, 1), lo, hi))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.uint8, np.bool_])
def test_concatenation_dtypes(dtype):
    graph = op_graph("CONCATENATION", [Input((2, 3), dtype), Input((2, 1), dtype)], {"axis": 1})
    assert_matches_litert(graph)


def _version(op_type, inputs, attrs=None, n_outputs=1):
    graph = op_graph(op_type, inputs, attrs, n_outputs=n_outputs)
    return get_op(op_type).version(graph.ops[0], graph)


def test_versions():
    ss = [i32(0, 0), i32(1, 1), i32(1, 1)]
    assert _version("STRIDED_SLICE", [Input((2, 3))] + ss) == 1
    assert _version("STRIDED_SLICE", [Input((2, 3), np.int8)] + ss) == 2
    assert _version("STRIDED_SLICE", [Input((2, 3), np.bool_)] + ss) == 3
    assert _version("STRIDED_SLICE", [Input((1, 1, 1, 2, 3))] + ss) == 4
    assert _version("STRIDED_SLICE", [Input((2, 3))] + ss, {"ellipsis_mask": 1}) == 6
    assert _version("STRIDED_SLICE", [Input((2, 3))] + ss, {"new_axis_mask": 2}) == 6
    assert _version("STRIDED_SLICE", [Input((2, 3))] + ss, {"offset": True}) == 8
    assert _version("SLICE", [Input((2, 3)), i32(0, 0), i32(1, 1)]) == 1
    assert _version("SLICE", [Input((2, 3), np.int8), i32(0, 0), i32(1, 1)]) == 2
    assert _version("SLICE", [Input((1, 1, 1, 2, 3)), i32(0, 0, 0, 0, 0), i32(1, 1, 1, 1, 1)]) == 5
    assert _version("GATHER", [Input((2, 3)), i32(0)]) == 1
    assert _version("GATHER", [Input((2, 3), np.int8), i32(0)]) == 2
    assert _version("GATHER", [Input((2, 3), np.bool_), i32(0)]) == 3
    assert _version("GATHER", [Input((2, 3)), i32(0, 1)], {"axis": 1, "batch_dims": 1}) == 5
    assert _version("SPLIT", [i32(0), Input((2, 3))], {"num_splits": 1}) == 1
    assert _version("SPLIT", [i32(0), Input((2, 3), np.int8)], {"num_splits": 1}) == 2
    assert _version("SPLIT", [i32(0), Input((2, 3), np.int32)], {"num_splits": 1}) == 3
    assert _version("SPLIT_V", [Input((2, 3), np.int8), i32(2), i32(0)], {"num_splits": 1}) == 2
    assert _version("PACK", [Input((2,), np.int8)], {"values_count": 1}) == 2
    assert _version("PACK", [Input((2,), np.int32)], {"values_count": 1}) == 1
    assert _version("UNPACK", [Input((1, 2), np.uint8)], {"num": 1}) == 2
    assert _version("UNPACK", [Input((1, 2), np.bool_)], {"num": 1}) == 3
    assert _version("CONCATENATION", [Input((2,), np.int8)]) == 2
    assert _version("CONCATENATION", [Input((2,), np.int16)]) == 3
    assert _version("CONCATENATION", [Input((2,))]) == 1


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.bool_])
def test_reverse_v2_matches_litert(axis, dtype):
    graph = op_graph("REVERSE_V2", [Input((2, 3, 4), dtype), i32(axis)])
    assert get_op("REVERSE_V2").version(graph.ops[0], graph) == \
        {np.float32: 1, np.int8: 3, np.bool_: 2}[dtype]
    assert_matches_litert(graph)
