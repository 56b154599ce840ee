import numpy as np
import pytest

from edgeport.ops import get_op
from tests.opmodels import Input, assert_matches_litert, op_graph

# (input shape, output size): up, down, non-integer ratios both ways, 1-pixel edges, batch > 1.
CASES = [
    ((1, 4, 4, 3), (8, 8)),
    ((1, 8, 8, 2), (4, 4)),
    ((2, 5, 7, 3), (11, 3)),
    ((3, 6, 4, 1), (4, 9)),
    ((1, 3, 5, 2), (7, 7)),
    ((2, 1, 1, 4), (3, 2)),
    ((1, 7, 3, 2), (1, 1)),
    ((1, 16, 9, 2), (23, 5)),
]
# TFLite rejects align_corners together with half_pixel_centers for bilinear.
BILINEAR_MODES = [(False, False), (True, False), (False, True)]
NEAREST_MODES = [(False, False), (True, False), (False, True), (True, True)]


def resize_graph(op_type, shape, size, align, half_pixel, dtype=np.float32):
    return op_graph(op_type, [Input(shape, dtype), np.array(size, np.int32)],
                    {"align_corners": align, "half_pixel_centers": half_pixel},
                    output_dtypes=[dtype])


@pytest.mark.parametrize("align,half_pixel", BILINEAR_MODES)
@pytest.mark.parametrize("shape,size", CASES)
def test_resize_bilinear_matches_litert(shape, size, align, half_pixel, kernel_form):
    graph = resize_graph("RESIZE_BILINEAR", shape, size, align, half_pixel)
    # Bit-exact: the kernel repeats TFLite's float32 coordinate and weight arithmetic.
    assert_matches_litert(graph, rtol=0, atol=0)


@pytest.mark.parametrize("align,half_pixel", NEAREST_MODES)
@pytest.mark.parametrize("shape,size", CASES)
def test_resize_nearest_neighbor_matches_litert(shape, size, align, half_pixel):
    graph = resize_graph("RESIZE_NEAREST_NEIGHBOR", shape, size, align, half_pixel)
    assert_matches_litert(graph, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32])
def test_resize_nearest_neighbor_moves_integers(dtype):
    graph = resize_graph("RESIZE_NEAREST_NEIGHBOR", (2, 3, 5, 2), (7, 4), True, False, dtype)
    assert_matches_litert(graph)


@pytest.mark.parametrize("align,half_pixel", BILINEAR_MODES)
def test_resize_bilinear_in_several_cache_blocks_is_bit_exact(align, half_pixel, monkeypatch):
    import edgeport.ops.resize as resize

    # Blocks of 3 output rows (of 11 per image): the last block of the batch is partial.
    monkeypatch.setattr(resize, "CACHE_BLOCK_BYTES", 3 * 9 * 4 * 4)
    monkeypatch.setenv("EDGEPORT_NUMBA", "0")  # the blocks are NumPy's form
    graph = resize_graph("RESIZE_BILINEAR", (2, 5, 4, 4), (11, 9), align, half_pixel)
    assert_matches_litert(graph, rtol=0, atol=0)


def test_resize_bilinear_half_pixel_edges_keep_border_pixels(kernel_form):
    # Near the border the half-pixel source coordinate is negative (or past the last pixel):
    # only the neighbours are clamped and the weights cancel back to the border value.
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1) * 10
    graph = resize_graph("RESIZE_BILINEAR", (1, 1, 4, 1), (1, 8), False, True)
    (out,) = assert_matches_litert(graph, [x], rtol=0, atol=0)
    np.testing.assert_allclose(out.reshape(-1), [0, 2.5, 7.5, 12.5, 17.5, 22.5, 27.5, 30])


def test_resize_nearest_align_corners_rounds_half_away_from_zero():
    # 3 -> 5 with aligned corners: source = i * 0.5, so 0.5 and 1.5 round up to 1 and 2.
    x = np.arange(3, dtype=np.float32).reshape(1, 3, 1, 1)
    graph = resize_graph("RESIZE_NEAREST_NEIGHBOR", (1, 3, 1, 1), (5, 1), True, False)
    (out,) = assert_matches_litert(graph, [x])
    np.testing.assert_array_equal(out.reshape(-1), [0, 1, 1, 2, 2])


def test_resize_with_runtime_size_matches_litert(kernel_form):
    graph = op_graph("RESIZE_BILINEAR", [Input((2, 4, 6, 3)), Input((2,), np.int32)],
                     {"align_corners": True})
    x = np.random.default_rng(1).uniform(-3, 3, (2, 4, 6, 3)).astype(np.float32)
    assert_matches_litert(graph, [x, np.array([7, 5], np.int32)], rtol=0, atol=0)


@pytest.mark.parametrize("op_type,attrs,dtype,version", [
    ("RESIZE_BILINEAR", {}, np.float32, 1),
    ("RESIZE_BILINEAR", {"align_corners": True}, np.float32, 1),
    ("RESIZE_BILINEAR", {"half_pixel_centers": True}, np.float32, 3),
    ("RESIZE_NEAREST_NEIGHBOR", {}, np.float32, 1),
    ("RESIZE_NEAREST_NEIGHBOR", {}, np.int8, 2),
    ("RESIZE_NEAREST_NEIGHBOR", {"align_corners": True}, np.float32, 3),
    ("RESIZE_NEAREST_NEIGHBOR", {"half_pixel_centers": True}, np.int16, 4),
])
def test_resize_version(op_type, attrs, dtype, version):
    graph = op_graph(op_type, [Input((1, 2, 2, 1), dtype), np.array([4, 4], np.int32)], attrs,
                     output_dtypes=[dtype])
    assert get_op(op_type).version(graph.ops[0], graph) == version
