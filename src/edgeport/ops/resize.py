"""RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR over the H and W axes of an NHWC tensor.

The second input is the int32 [2] output size (height, width). Source coordinates are computed
per output row and column exactly as TFLite's reference kernels do, in float32
(tensorflow/lite/kernels/internal/reference/resize_bilinear.h, resize_nearest_neighbor.h), so the
results match LiteRT to the last bit.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..arrays import array_namespace
from ..errors import GraphError
from ..fixedpoint import round_half_away, truncating_divide
from . import compiled
from .options import Bool, Options
from .quant_rules import SameAsInput
from .registry import OpDef, register_op, traceable

# Bytes of output RESIZE_BILINEAR computes at a time: a block and its scratch fit in L2.
CACHE_BLOCK_BYTES = 256 * 1024


def output_size(size: np.ndarray) -> tuple[int, int]:
    """The (height, width) asked for by the size tensor."""
    height, width = (int(v) for v in np.asarray(size).reshape(-1)[:2])
    if height < 0 or width < 0:
        raise GraphError(f"resize to a negative size {height}x{width}")
    return height, width


def resize_scale(in_size: int, out_size: int, align_corners: bool) -> np.float32:
    """Input pixels per output pixel, in float32: ``in / out``, or ``(in - 1) / (out - 1)``
    when corners are aligned and there is more than one output pixel."""
    if align_corners and out_size > 1:
        return np.float32(in_size - 1) / np.float32(out_size - 1)
    return np.float32(in_size) / np.float32(out_size) if out_size else np.float32(0)


class Resize(OpDef):
    """What both resize ops share: the output shape and the op version."""
    static_inputs = (1,)

    # The options that need version 3 (op_version.cc).
    version_3_options: tuple[str, ...] = ("half_pixel_centers",)

    def shape(self, attrs, x, size):
        if size.value is None:
            return None  # a runtime size: the kernel on placeholders finds the shape
        return [(x.shape[0], *output_size(size.value), x.shape[3])]

    def version(self, op, graph):
        dtype = graph.tensors[op.inputs[0]].dtype
        if dtype == np.int16:
            return 4
        if any(op.attrs.get(name) for name in self.version_3_options):
            return 3
        return 2 if dtype == np.int8 else 1


@register_op("RESIZE_BILINEAR")
class ResizeBilinear(Resize):
    options = Options("ResizeBilinearOptions", align_corners=Bool, half_pixel_centers=Bool)
    quant = SameAsInput(moves_data=False)

    def run_float(self, attrs, x, size):
        y0, y1, x0, x1, dy, dx = bilinear_taps(attrs, x.shape, size)
        # TFLite's float expression, term by term and in the same order, so float32 rounding
        # agrees: v00*(1-dy)*(1-dx) + v10*dy*(1-dx) + v01*(1-dy)*dx + v11*dy*dx. With numba,
        # one compiled loop computes it (4-7x faster: ops/compiled.py). In NumPy, the row
        # weights are applied before the columns are gathered (the same products, at input
        # width); the rest runs in place, a block of output rows at a time so that the eleven
        # passes over each block (4 gathers, 4 products, 3 sums) stay in cache. take's
        # mode="clip" (the indices are in range) lets it write to ``out=`` unbuffered, 3x
        # faster.
        out = compiled.resize_bilinear(x, (y0, y1, dy.reshape(-1)), (x0, x1, dx.reshape(-1)))
        if out is not None:
            return out
        top, bottom = (rows.reshape(-1, *rows.shape[2:])  # [N*OH, W, C]
                       for rows in (x[:, y0] * (1 - dy), x[:, y1] * dy))
        out = np.empty((top.shape[0], dx.shape[1], x.shape[3]), top.dtype)
        right = np.broadcast_to(dx[0], out.shape[1:]).astype(top.dtype)  # whole (OW, C) rows
        left = 1 - right
        block = max(1, CACHE_BLOCK_BYTES // max(out.itemsize * out.shape[1] * out.shape[2], 1))
        scratch = np.empty_like(out[:block])
        for start in range(0, out.shape[0], block):
            rows = slice(start, start + block)
            done = out[rows]
            term = scratch[:len(done)]
            np.take(top[rows], x0, axis=1, out=done, mode="clip")
            done *= left
            for source, columns, weight in ((bottom, x0, left), (top, x1, right),
                                            (bottom, x1, right)):
                np.take(source[rows], columns, axis=1, out=term, mode="clip")
                term *= weight
                done += term
        return out.reshape(x.shape[0], dy.shape[0], dx.shape[1], x.shape[3])

    def prepare_integer(self, op, graph):
        """RESIZE_BILINEAR on quantized values (resize_bilinear.cc, BUILTIN_REF). int8/int16:
        ResizeBilinearInteger, the four taps weighted in 1/1024 steps and summed in int64
        (``2**20`` per unit), rounded half away from zero by ``(v +- 2**19) / 2**20`` in C
        division, cast to the type without clamping. uint8: the float reference template on
        the raw values (the float kernel, float32), rounded by TfLiteRound. Input and output
        share their quantization parameters. The integer form is traceable; the uint8 one
        runs on NumPy (jax's float resize may round differently)."""
        attrs = op.attrs
        dtype = graph.tensors[op.outputs[0]].dtype
        if dtype == np.uint8:
            def float_resize(inputs):
                x, size = inputs
                return [round_half_away(self.run_float(attrs, x.astype(np.float32), size))
                        .astype(np.uint8)]

            return float_resize
        align = attrs.get("align_corners", False)
        half_pixel = attrs.get("half_pixel_centers", False)

        def kernel(inputs):
            x, size = inputs
            height, width = output_size(size)
            y0, y1, wy = bilinear_10(x.shape[1], height, align, half_pixel)
            x0, x1, wx = bilinear_10(x.shape[2], width, align, half_pixel)
            wy, wx = wy[None, :, None, None], wx[None, None, :, None]
            top, bottom = x.astype(np.int64)[:, y0], x.astype(np.int64)[:, y1]
            one = 1 << 10
            total = (top[:, :, x0] * (one - wy) * (one - wx) + bottom[:, :, x0] * wy * (one - wx)
                     + top[:, :, x1] * (one - wy) * wx + bottom[:, :, x1] * wy * wx)
            nudge = array_namespace(total).where(total > 0, 1 << 19, -(1 << 19))
            rounded = truncating_divide(total + nudge, 1 << 20)
            return [rounded.astype(dtype)]  # static_cast: wraps, no clamp

        return traceable(kernel)

    def run_jax(self, attrs, x, size):
        # run_float's coordinates (static) and float expression, as one jax expression (its
        # blocked, in-place NumPy form does not trace).
        y0, y1, x0, x1, dy, dx = bilinear_taps(attrs, x.shape, size)
        top, bottom = x[:, y0], x[:, y1]
        return (top[:, :, x0] * (1 - dy) * (1 - dx) + bottom[:, :, x0] * dy * (1 - dx)
                + top[:, :, x1] * (1 - dy) * dx + bottom[:, :, x1] * dy * dx)


def bilinear_taps(attrs: dict, x_shape, size):
    """The source rows y0/y1 and columns x0/x1 of every output pixel, and the weights dy
    (out_h, 1, 1) and dx (1, out_w, 1) of row y1 and column x1. The int index converts to
    float32 as in C++ (NumPy would widen float32 - int32 to float64)."""
    height, width = output_size(size)
    half_pixel = attrs.get("half_pixel_centers", False)
    align = attrs.get("align_corners", False)
    y, y0, y1 = bilinear_coordinates(x_shape[1], height, align, half_pixel)
    xs, x0, x1 = bilinear_coordinates(x_shape[2], width, align, half_pixel)
    dy = (y - y0.astype(np.float32))[:, None, None]
    dx = (xs - x0.astype(np.float32))[None, :, None]
    return y0, y1, x0, x1, dy, dx


def bilinear_10(in_size: int, out_size: int, align_corners: bool, half_pixel: bool):
    """reference_ops::ResizeBilinearInteger's coordinates in 1/1024 steps: the rounded scale
    ``(1024 * in + out / 2) / out`` (``in - 1`` and ``out - 1`` when corners are aligned), the
    source coordinate ``i * scale`` (half-pixel: ``+ scale / 2 - 512``), its neighbours
    ``max(c / 1024, 0)`` and ``min((c + 1023) / 1024, in - 1)`` in C division, and the upper
    neighbour's weight ``c - 1024 * lower`` (negative near a half-pixel border)."""
    if align_corners and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = ((1 << 10) * in_size + out_size // 2) // out_size
    index = np.arange(out_size, dtype=np.int64)
    coordinate = index * scale + (scale // 2 - (1 << 9) if half_pixel else 0)
    lower = np.maximum(truncating_divide(coordinate, 1 << 10), 0)
    upper = np.minimum(truncating_divide(coordinate + (1 << 10) - 1, 1 << 10), in_size - 1)
    return lower, upper, coordinate - (1 << 10) * lower


@lru_cache(maxsize=256)
def bilinear_coordinates(in_size: int, out_size: int, align_corners: bool, half_pixel: bool):
    """ComputeInterpolationValues for every output index: the float32 source coordinate and
    its lower and upper neighbours. With half-pixel centers the coordinate itself may be
    negative near the border; only the neighbours are clamped (lower to 0, upper to in - 1),
    which TFLite's weights then turn back into the border pixel."""
    scale = resize_scale(in_size, out_size, align_corners)
    index = np.arange(out_size, dtype=np.float32)
    if half_pixel:
        coordinate = (index + np.float32(0.5)) * scale - np.float32(0.5)
    else:
        coordinate = index * scale
    lower = np.maximum(np.floor(coordinate).astype(np.int32), 0)
    upper = np.minimum(np.ceil(coordinate).astype(np.int32), in_size - 1)
    return read_only(coordinate, lower, upper)


@register_op("RESIZE_NEAREST_NEIGHBOR")
class ResizeNearestNeighbor(Resize):
    quant = SameAsInput()
    options = Options("ResizeNearestNeighborOptions", align_corners=Bool,
                      half_pixel_centers=Bool)
    version_3_options = ("half_pixel_centers", "align_corners")

    def run_float(self, attrs, x, size):
        height, width = output_size(size)
        align = attrs.get("align_corners", False)
        half_pixel = attrs.get("half_pixel_centers", False)
        rows = nearest_indices(x.shape[1], height, align, half_pixel)
        cols = nearest_indices(x.shape[2], width, align, half_pixel)
        return x[:, rows][:, :, cols]


@lru_cache(maxsize=256)
def nearest_indices(in_size: int, out_size: int, align_corners: bool, half_pixel: bool):
    """GetNearestNeighbor for every output index: ``(i + offset) * scale`` in float32 (offset
    0.5 with half-pixel centers), rounded half away from zero when corners are aligned and
    floored otherwise, then clamped to in - 1 (and to 0 with half-pixel centers)."""
    scale = resize_scale(in_size, out_size, align_corners)
    offset = np.float32(0.5 if half_pixel else 0.0)
    source = (np.arange(out_size, dtype=np.float32) + offset) * scale
    source = round_half_away(source) if align_corners else np.floor(source)
    index = np.minimum(source.astype(np.int32), in_size - 1)
    return read_only(np.maximum(index, 0) if half_pixel else index)[0]


def read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``arrays``, made read-only: the cached coordinates above are shared by every call."""
    for array in arrays:
        array.flags.writeable = False
    return arrays
