"""Loops compiled to machine code by numba, for the kernels that NumPy's primitives make slow.

A depthwise convolution is a sum of KH*KW products per output. NumPy has no fused
multiply-accumulate over shifted views: its einsum runs at about one multiply-add per cycle, and
a loop of in-place multiplies and adds passes over memory twice per tap. numba compiles the
plain loop, with the taps unrolled and the channels vectorized: 2-4x faster per layer. Bilinear
resizing, four gathers and seven products and sums per output in NumPy, is 4-7x faster as one
loop, and PRELU, two to four passes in NumPy, 2-8x faster as one (per layer, on the mediapipe
models' 16-128 channel layers). The output stage of every integer kernel (MultiplyByQuantized-
Multiplier, the zero point and the clamp) is about twenty passes over int64 arrays in NumPy,
three quarters of an int8 MobileNetV2's time, and one loop here: 30x faster.

numba is optional (``pip install edgeport[fast]``). Without it, or with the environment
variable ``EDGEPORT_NUMBA=0``, every op runs its NumPy form. The compiled loops compute TFLite's
reference expressions in TFLite's order (the depthwise taps row by row, then the bias), so they
give the bits of LiteRT's BUILTIN_REF kernels; NumPy's depthwise einsum agrees with them to
float rounding, its resize and PRELU to the bit.

A loop is compiled for one variant (dtype, filter size) the first time a process needs it,
about half a second each, and kept in numba's on-disk cache (in NUMBA_CACHE_DIR if set, else
beside this file, else in ~/.cache/numba), so later processes only load it: half a second for
numba and LLVM to start, then milliseconds a loop. Each variant is a function of its own, with
its own cache index and one signature: numba updates an index without a lock, so variants
sharing one could, compiled by two processes at once, leave it pointing at each other's code.
A variant's signature is fixed by its first call, so every call passes the same types: inputs
C-contiguous and read-only (`_operand`), outputs fresh arrays, scalars Python ints.

The loops index flat arrays with unsigned (np.uint64) offsets: numba then skips its
negative-index check, which would keep LLVM from vectorizing the innermost loop (over the
channels of one pixel). They do not check bounds, so their entry points check that every index
they will form is in range.
"""

from __future__ import annotations

import os
import threading
import warnings
from functools import cache
from types import FunctionType

import numpy as np

from .affine import QUANTIZED_TYPES  # the output dtypes of the requantizing loop

# The dtypes of the depthwise and PRELU loops: float32 models, and the exact float64 sums of
# the integer kernels. The bilinear loop takes float32 alone, the dtype of TFLite's kernel.
COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
RESIZE_DTYPES = (np.dtype(np.float32),)


def compiled_kernels_enabled() -> bool:
    """True when the compiled loops run: ``EDGEPORT_NUMBA`` is not 0 (read at each call, so
    that the switch works at any time) and numba is installed and compiling (with
    NUMBA_DISABLE_JIT its loops would run as Python, a thousand times slower)."""
    return compiled_kernels_status() == "on"


def compiled_kernels_status() -> str:
    """"on", or why the compiled loops are off, in words for reports and the CLI."""
    if os.environ.get("EDGEPORT_NUMBA", "1") == "0":
        return "off (EDGEPORT_NUMBA=0)"
    numba = _numba()
    if numba is None:
        return "off (numba is not installed: pip install edgeport[fast])"
    if numba.config.DISABLE_JIT:
        return "off (NUMBA_DISABLE_JIT is set)"
    return "on"


@cache
def _numba():
    """The numba module, or None when it is not installed or cannot load (with this NumPy)."""
    try:
        import numba
    except Exception:  # ImportError, or a broken install: NumPy's forms then run
        return None
    return numba


# The compiled variants made so far, by (loop, variant name); a new one is compiled under the
# lock, once, whichever threads ask for it.
_variants: dict = {}
_compiling = threading.Lock()


def _run(loop, variant: str, *args) -> None:
    """Run ``loop`` on ``args`` through its compiled ``variant`` (a name for the dtype and
    filter size, whose arguments always have the same types), compiling it on first use."""
    compiled = _variants.get((loop, variant))
    if compiled is None:
        with _compiling:
            compiled = _variants.get((loop, variant))
            if compiled is None:
                compiled = _variants[(loop, variant)] = _compile(loop, variant, args)
    compiled(*args)


def _compile(loop, variant: str, args):
    """``loop`` compiled by numba in nopython mode, releasing the GIL, for the types of
    ``args``, as a function named for ``variant`` (its cache files are its own), from numba's
    on-disk cache where it can keep one."""
    numba = _numba()
    function = FunctionType(loop.__code__, loop.__globals__, loop.__name__, loop.__defaults__,
                            loop.__closure__)
    function.__qualname__ = f"{loop.__qualname__}_{variant}"
    signature = numba.void(*(numba.typeof(arg) for arg in args))
    try:
        return numba.njit(signature, cache=True, boundscheck=False, nogil=True)(function)
    except numba.core.errors.NumbaError:  # the loop itself does not compile: a bug to see
        raise
    except Exception as error:  # no usable cache directory, or an unreadable cache file
        warnings.warn(f"edgeport: numba cannot cache {function.__qualname__} ({error!r}); "
                      "it is compiled again in each process", RuntimeWarning, stacklevel=2)
        return numba.njit(signature, boundscheck=False, nogil=True)(function)


def _applies(x: np.ndarray, dtypes=COMPILED_DTYPES) -> bool:
    """Whether a compiled loop takes ``x``: the loops are on, its dtype is one of ``dtypes``
    (native byte order) and it is not empty."""
    return x.size > 0 and x.dtype in dtypes and x.dtype.isnative and compiled_kernels_enabled()


def _operand(array: np.ndarray, dtype=None) -> np.ndarray:
    """``array`` as every compiled loop takes its inputs: C-contiguous, of ``dtype`` (its own
    by default) and read-only (a view: the caller's array keeps its flags)."""
    array = np.ascontiguousarray(array, dtype).view()
    array.flags.writeable = False
    return array


def depthwise_conv(xp: np.ndarray, w: np.ndarray, bias: np.ndarray | None, out_hw,
                   strides, dilations) -> np.ndarray | None:
    """DEPTHWISE_CONV_2D (multiplier 1) of the padded input ``xp`` [N, HP, WP, C] with the
    filter ``w`` [1, KH, KW, C], plus ``bias``: [N, OH, OW, C], or None where the compiled
    loop does not apply (numba off, other dtypes, an empty output). A bias that is not one
    value per channel raises ValueError, as NumPy's broadcasting would, and so does a
    geometry whose windows would leave the input."""
    n, height, width, channels = xp.shape
    if not _applies(xp) or w.dtype != xp.dtype or min(*out_hw) <= 0:
        return None
    kernel_h, kernel_w = w.shape[1:3]
    if w.shape != (1, kernel_h, kernel_w, channels) or min(*strides, *dilations) < 1 \
            or (out_hw[0] - 1) * strides[0] + (kernel_h - 1) * dilations[0] >= height \
            or (out_hw[1] - 1) * strides[1] + (kernel_w - 1) * dilations[1] >= width:
        raise ValueError(f"depthwise windows of a {list(w.shape)} filter, strides {strides} "
                         f"and dilations {dilations} do not fit a {list(xp.shape)} input for "
                         f"a {list(out_hw)} output")
    bias = np.zeros(channels, xp.dtype) if bias is None else bias
    # The loop reads bias[c] for every channel c.
    bias = np.broadcast_to(bias.reshape(-1), (channels,))
    out = np.empty((n, *out_hw, channels), xp.dtype)
    _run(_depthwise_loop(kernel_h, kernel_w), f"{kernel_h}x{kernel_w}_{xp.dtype}",
         _operand(xp).reshape(n, height, -1), _operand(w[0]), _operand(bias, xp.dtype),
         out.reshape(n, out_hw[0], -1),
         *(int(step) for step in (strides[0], dilations[0], strides[1] * channels,
                                  dilations[1] * channels)))
    return out


@cache
def _depthwise_loop(kernel_h: int, kernel_w: int):
    """The depthwise loop for a KH x KW filter (constants to numba, which unrolls the tap
    loops: each filter size is a loop of its own). Over the padded input with W and C folded
    into one axis, x [N, HP, WP*C], it computes

        out[b, y, ox*C + c] = sum over taps (i, j) of
                              x[b, y*stride_h + i*dilation_h, ox*col_step + j*tap_step + c]
                              * w[i, j, c]
                              + bias[c]

    with col_step = stride_w*C and tap_step = dilation_w*C, in TFLite's order: the taps in
    row-major order (i, then j), then the bias.
    """
    def loop(x, w, bias, out, stride_h, dilation_h, col_step, tap_step):
        row_size, image_size = np.uint64(x.shape[2]), np.uint64(x.shape[1] * x.shape[2])
        channels = w.shape[2]
        x_flat, w_flat, out_flat = x.reshape(-1), w.reshape(-1), out.reshape(-1)
        tap_size = np.uint64(channels)
        for b in range(out.shape[0]):
            for y in range(out.shape[1]):
                top = np.uint64(b) * image_size + np.uint64(y * stride_h) * row_size
                out_row = np.uint64((b * out.shape[1] + y) * out.shape[2])
                for column in range(out.shape[2] // channels):
                    start = top + np.uint64(column * col_step)
                    first = out_row + np.uint64(column) * tap_size
                    for c in range(channels):
                        channel = np.uint64(c)
                        total = x_flat[start + channel] * w_flat[channel]
                        for i in range(kernel_h):
                            for j in range(kernel_w):
                                if i or j:
                                    tap = np.uint64(i * kernel_w + j)
                                    offset = (np.uint64(i * dilation_h) * row_size
                                              + np.uint64(j * tap_step))
                                    total += (x_flat[start + offset + channel]
                                              * w_flat[tap * tap_size + channel])
                        out_flat[first + channel] = total + bias[channel]
    return loop


def resize_bilinear(x: np.ndarray, rows, columns) -> np.ndarray | None:
    """RESIZE_BILINEAR of ``x`` [N, H, W, C] to the source ``rows`` (y0, y1, weight of y1) and
    ``columns`` (x0, x1, weight of x1) of each output pixel (resize.bilinear_taps), or None
    where the compiled loop does not apply."""
    if not _applies(x, RESIZE_DTYPES):
        return None
    (y0, y1, dy), (x0, x1, dx) = rows, columns
    for taps, size, weights in ((y0, x.shape[1], dy), (y1, x.shape[1], dy),
                                (x0, x.shape[2], dx), (x1, x.shape[2], dx)):
        if len(taps) != len(weights) or len(taps) and not 0 <= taps.min() <= taps.max() < size:
            raise ValueError(f"resize taps out of range for a {list(x.shape)} input")
    out = np.empty((x.shape[0], len(y0), len(x0), x.shape[3]), x.dtype)
    _run(_resize_bilinear_loop, str(x.dtype),
         _operand(x), *(_operand(a) for a in (y0, y1, 1 - dy, dy, x0, x1, 1 - dx, dx)), out)
    return out


def _resize_bilinear_loop(x, y0, y1, top_weight, bottom_weight, x0, x1, left_weight,
                          right_weight, out):
    """TFLite's float expression (reference ResizeBilinear), term by term and in the same
    order, with the weights precomputed in float32 as TFLite computes them:

        out[b, y, x, c] = in[b, y0, x0, c] * (1 - dy) * (1 - dx) + in[b, y1, x0, c] * dy * (1 - dx)
                        + in[b, y0, x1, c] * (1 - dy) * dx + in[b, y1, x1, c] * dy * dx
    """
    _, height, width, channels = x.shape
    size = np.uint64(channels)
    x_flat, out_flat = x.reshape(-1), out.reshape(-1)
    for b in range(out.shape[0]):
        for y in range(out.shape[1]):
            top = np.uint64((b * height + y0[y]) * width) * size
            bottom = np.uint64((b * height + y1[y]) * width) * size
            wy0, wy1 = top_weight[y], bottom_weight[y]
            for column in range(out.shape[2]):
                left, right = np.uint64(x0[column]) * size, np.uint64(x1[column]) * size
                wx0, wx1 = left_weight[column], right_weight[column]
                first = np.uint64(((b * out.shape[1] + y) * out.shape[2] + column)) * size
                for c in range(channels):
                    channel = np.uint64(c)
                    out_flat[first + channel] = (
                        x_flat[top + left + channel] * wy0 * wx0
                        + x_flat[bottom + left + channel] * wy1 * wx0
                        + x_flat[top + right + channel] * wy0 * wx1
                        + x_flat[bottom + right + channel] * wy1 * wx1)


def prelu(x: np.ndarray, alpha: np.ndarray) -> np.ndarray | None:
    """PRELU, ``x >= 0 ? x : x * alpha``, for an alpha with one value per channel (the last
    axis) or one in all, in one pass; None where the compiled loop does not apply."""
    channels = x.shape[-1] if x.ndim else 1
    if not _applies(x) or alpha.ndim > x.ndim or alpha.size not in (1, channels) \
            or any(size != 1 for size in alpha.shape[:-1]):
        return None
    alpha = np.broadcast_to(alpha.reshape(-1), (channels,))
    out = np.empty(x.shape, x.dtype)
    _run(_prelu_loop, str(x.dtype), _operand(x).reshape(-1, channels),
         _operand(alpha, x.dtype), out.reshape(-1, channels))
    return out


def _prelu_loop(x, alpha, out):
    """TFLite's PRELU expression per element of x [rows, C]."""
    channels = np.uint64(x.shape[1])
    x_flat, out_flat = x.reshape(-1), out.reshape(-1)
    for row in range(x.shape[0]):
        start = np.uint64(row) * channels
        for c in range(x.shape[1]):
            channel = np.uint64(c)
            value = x_flat[start + channel]
            out_flat[start + channel] = value if value >= 0 else value * alpha[channel]


def requantize(acc: np.ndarray, multiplier, shift, zero: int, low: int,
               high: int, dtype) -> np.ndarray | None:
    """``clamp(MultiplyByQuantizedMultiplier(acc, multiplier, shift) + zero, low, high)`` as
    ``dtype`` (`edgeport.ops.quantized.requantize`, whose arithmetic this is, in one pass), with
    one multiplier and shift per channel (the last axis) or one for all; None where the loop
    does not apply."""
    multiplier, shift = np.atleast_1d(multiplier), np.atleast_1d(shift)
    channels = acc.shape[-1] if acc.ndim else 1
    if not _applies(acc, (np.dtype(np.int64),)) or np.dtype(dtype) not in QUANTIZED_TYPES \
            or multiplier.ndim != 1 or multiplier.size not in (1, channels) \
            or shift.shape != multiplier.shape:
        return None
    out = np.empty(acc.shape, dtype)
    _run(_requantize_loop, np.dtype(dtype).name, _operand(acc).reshape(-1, channels),
         _operand(np.broadcast_to(multiplier, (channels,)), np.int64),
         _operand(np.broadcast_to(shift, (channels,)), np.int64),
         int(zero), int(low), int(high), out.reshape(-1, channels))
    return out


def _requantize_loop(acc, multiplier, shift, zero, low, high, out):
    """Per element of acc [rows, C], fixedpoint.multiply_by_quantized_multiplier's steps: the
    left shift wrapped to int32, SaturatingRoundingDoublingHighMul, RoundingDivideByPOT; then
    the zero point and the clamp. (Branches keep it from vectorizing, so it indexes plainly.)"""
    for row in range(acc.shape[0]):
        for c in range(acc.shape[1]):
            left, right = max(shift[c], 0), max(-shift[c], 0)
            value = ((acc[row, c] << left) + 2147483648) & 4294967295
            value -= 2147483648
            factor = multiplier[c]
            if value == -2147483648 and factor == -2147483648:
                high_mul = 2147483647
            else:
                product = value * factor
                product += 1073741824 if product >= 0 else 1 - 1073741824
                high_mul = product >> 31 if product >= 0 else -((-product) >> 31)
            mask = (1 << right) - 1
            threshold = (mask >> 1) + (1 if high_mul < 0 else 0)
            result = (high_mul >> right) + (1 if (high_mul & mask) > threshold else 0) + zero
            out[row, c] = min(max(result, low), high)
