"""NumPy implementations of mediapipe's custom TFLite ops, for running mediapipe models in tests.

Register one with ``edgeport.lite.register_custom_op(name, fn)``; ``fn(inputs, options)`` gets the
op's input arrays and its raw ``custom_options`` bytes.
"""

from __future__ import annotations

import struct

import numpy as np

# TfLitePadding (tensorflow/lite/core/c/builtin_op_data.h).
_PADDING = {0: "UNKNOWN", 1: "SAME", 2: "VALID"}


def transpose_conv_bias_params(options: bytes) -> tuple[str, int, int]:
    """(padding, stride_h, stride_w) from Convolution2DTransposeBias's custom options.

    mediapipe reinterprets the raw bytes as a ``TfLiteTransposeConvParams`` struct: int32
    ``padding`` (TfLitePadding), then int32 ``stride_width``, int32 ``stride_height``
    (little-endian; newer TFLite headers append an activation field that mediapipe never reads).
    """
    if len(options) < 12:
        raise ValueError(f"Convolution2DTransposeBias: custom options hold {len(options)} bytes, "
                         "expected at least 12 (padding, stride_width, stride_height)")
    padding, stride_w, stride_h = struct.unpack_from("<3i", options)
    if padding not in _PADDING or stride_w < 1 or stride_h < 1:
        raise ValueError(f"Convolution2DTransposeBias: bad options padding={padding} "
                         f"stride_width={stride_w} stride_height={stride_h}")
    return _PADDING[padding], stride_h, stride_w


def _output_extent(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """(output size, leading pad) along one axis, as mediapipe's Prepare and Eval compute them.

    With SAME padding the total is ``max(0, kernel - (size - 1) % stride - 1)``, the output loses
    that much, and ``total // 2`` of it is cropped at the top/left. Anything else is no padding.
    """
    total = max(0, kernel - (size - 1) % stride - 1) if padding == "SAME" else 0
    return stride * (size - 1) + kernel - total, total // 2


def convolution_2d_transpose_bias(inputs: list, options: bytes) -> np.ndarray:
    """mediapipe's Convolution2DTransposeBias (mediapipe/util/tflite/operations/
    transpose_conv_bias.cc): a transposed convolution plus bias, float32 only.

    Inputs: data NHWC ``[B, H, W, C]``, weights OHWI ``[O, KH, KW, C]``, bias ``[O]``. Each input
    pixel (iy, ix) scatters ``x[iy, ix] . w[:, fy, fx]`` onto output pixel
    ``(iy * stride_h - pad_top + fy, ix * stride_w - pad_left + fx)``; contributions that land
    outside the output are dropped; every output starts at its channel's bias.
    """
    x, w, bias = inputs
    padding, stride_h, stride_w = transpose_conv_bias_params(options)
    batch, height, width, channels = x.shape
    out_c, kh, kw, w_channels = w.shape
    if w_channels != channels or bias.shape != (out_c,):
        raise ValueError(f"Convolution2DTransposeBias: input {list(x.shape)}, weights "
                         f"{list(w.shape)} and bias {list(bias.shape)} do not fit together")
    out_h, pad_top = _output_extent(height, kh, stride_h, padding)
    out_w, pad_left = _output_extent(width, kw, stride_w, padding)
    # Every tap of every pixel in one matmul: [B, H, W, C] @ [C, KH*KW*O].
    taps = (x @ w.transpose(3, 1, 2, 0).reshape(channels, -1)).reshape(
        batch, height, width, kh, kw, out_c)
    if (stride_h, stride_w) == (kh, kw):
        # Taps that tile the output without overlap (mediapipe's 2x2, stride 2 upsampling):
        # output pixel (iy * kh + fy, ix * kw + fx) is tap (fy, fx) of input pixel (iy, ix).
        canvas = taps.transpose(0, 1, 3, 2, 4, 5).reshape(batch, height * kh, width * kw, out_c)
    else:
        # Scatter every tap onto an uncropped canvas (no contribution falls off it), then crop.
        canvas = np.zeros((batch, stride_h * (height - 1) + kh, stride_w * (width - 1) + kw,
                           out_c), np.float32)
        for fy in range(kh):
            for fx in range(kw):
                canvas[:, fy:fy + stride_h * (height - 1) + 1:stride_h,
                       fx:fx + stride_w * (width - 1) + 1:stride_w] += taps[:, :, :, fy, fx]
    out = canvas[:, pad_top:pad_top + out_h, pad_left:pad_left + out_w]
    return (out + bias).astype(np.float32)


MEDIAPIPE_CUSTOM_OPS = {"Convolution2DTransposeBias": convolution_2d_transpose_bias}
