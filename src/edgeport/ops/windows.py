"""The geometry of windowed ops over NHWC activations, shared by the convolutions and the
pools: output size and padding exactly as TFLite computes them (`conv_geometry`), padding of
H and W (`pad_nhwc`), a zero-copy sliding-window view of the input (`windows`) and one filter
tap's slice of it (`tap_slice`).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .common import conv_output_size, same_padding
from .pad import pad_constant


def conv_geometry(attrs: dict, in_hw, kernel_hw, dilation_hw=(1, 1)):
    """((out_h, out_w), ((top, bottom), (left, right))) of a windowed op over ``in_hw``.

    TFLite (ComputePaddingHeightWidth): SAME gives ceil(in / stride) outputs with the odd
    padding pixel after; VALID pads nothing.
    """
    strides = strides_of(attrs)
    out_hw = tuple(conv_output_size(n, k, s, d, attrs["padding"])
                   for n, k, s, d in zip(in_hw, kernel_hw, strides, dilation_hw))
    if attrs["padding"] == "SAME":
        pads = tuple(same_padding(n, k, s, d)
                     for n, k, s, d in zip(in_hw, kernel_hw, strides, dilation_hw))
    else:
        pads = ((0, 0), (0, 0))
    return out_hw, pads


def pad_nhwc(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    """``x`` with its H and W dims padded by ``pads`` (no copy when there is nothing to pad)."""
    if not any(before or after for before, after in pads):
        return x
    return pad_constant(x, ((0, 0), *pads, (0, 0)), value)


def windows(xp: np.ndarray, out_hw, kernel_hw, strides, dilations=(1, 1)) -> np.ndarray:
    """Read-only view [N, OH, OW, KH, KW, C] of the (already padded) input: element
    [n, y, x, i, j, c] is xp[n, y*stride_h + i*dilation_h, x*stride_w + j*dilation_w, c]."""
    sn, sh, sw, sc = xp.strides
    return as_strided(xp, (xp.shape[0], *out_hw, *kernel_hw, xp.shape[3]),
                      (sn, sh * strides[0], sw * strides[1], sh * dilations[0],
                       sw * dilations[1], sc), writeable=False)


def tap_slice(tap: int, dilation: int, stride: int, n_out: int) -> slice:
    """The padded input rows (or columns) that filter tap ``tap`` reads for ``n_out`` outputs:
    windows()'s axis as one slice, for kernels that take a tap at a time (jax, the pools)."""
    start = tap * dilation
    return slice(start, start + (n_out - 1) * stride + 1, stride)


def strides_of(attrs) -> tuple[int, int]:
    return attrs["stride_h"], attrs["stride_w"]


def dilations_of(attrs) -> tuple[int, int]:
    return attrs.get("dilation_h_factor", 1), attrs.get("dilation_w_factor", 1)
