"""Spatial reshaping: ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D, Resizing,
CenterCrop."""

from __future__ import annotations

import numpy as np

from . import keras_layer


def pads(value, dims: int) -> list[tuple[int, int]]:
    """Keras padding/cropping: an int, one int per dim, or (before, after) per dim."""
    if isinstance(value, int):
        return [(value, value)] * dims
    value = list(value)
    if dims == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        return [tuple(value)]
    return [(v, v) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in value]


@keras_layer("ZeroPadding1D", "ZeroPadding2D")
def zero_padding(b, cfg, inputs):
    dims = 1 if b.class_name.endswith("1D") else 2
    paddings = [(0, 0), *pads(cfg.get("padding", 1), dims), (0, 0)]
    return b.op("PAD", [inputs[0], b.const(paddings, np.int32, "paddings")])


@keras_layer("Cropping1D", "Cropping2D")
def cropping(b, cfg, inputs):
    dims = 1 if b.class_name.endswith("1D") else 2
    return crop(b, inputs[0], pads(cfg.get("cropping", 1 if dims == 1 else 0), dims))


@keras_layer("CenterCrop")
def center_crop(b, cfg, inputs):
    """The middle height x width window (the extra row/column, if odd, cut at the end)."""
    x = inputs[0]
    _, h, w, _ = b.shape(x)
    target = int(cfg["height"]), int(cfg["width"])
    if target[0] > h or target[1] > w:
        raise b.unsupported(f"CenterCrop to {target} of a smaller {h}x{w} image (Keras "
                            "resizes it)")
    return crop(b, x, [((d - t) // 2, d - t - (d - t) // 2) for d, t in zip((h, w), target)])


def crop(b, x, crops) -> str:
    """STRIDED_SLICE cutting (before, after) off each spatial dim, batch and channels whole."""
    dims = len(crops)
    shape = b.shape(x)
    begin = [0, *[c[0] for c in crops], 0]
    end = [0, *[shape[i + 1] - c[1] for i, c in enumerate(crops)], 0]
    edge = 1 | (1 << (dims + 1))  # batch and channels taken whole
    return b.op("STRIDED_SLICE", [x, b.const(begin, np.int32, "begin"),
                                  b.const(end, np.int32, "end"),
                                  b.const([1] * (dims + 2), np.int32, "strides")],
                {"begin_mask": edge, "end_mask": edge})


@keras_layer("UpSampling2D")
def upsampling2d(b, cfg, inputs):
    """Nearest: each pixel repeated (RESIZE_NEAREST_NEIGHBOR, no half-pixel shift); bilinear:
    half-pixel centers, as Keras 3 resizes."""
    x = inputs[0]
    size = cfg.get("size", (2, 2))
    size = (size, size) if isinstance(size, int) else size
    _, h, w, _ = b.shape(x)
    target = b.const([h * size[0], w * size[1]], np.int32, "size")
    mode = cfg.get("interpolation", "nearest")
    if mode == "nearest":
        return b.op("RESIZE_NEAREST_NEIGHBOR", [x, target])
    if mode == "bilinear":
        return b.op("RESIZE_BILINEAR", [x, target], {"half_pixel_centers": True})
    raise b.unsupported(f"interpolation={mode!r}")


@keras_layer("UpSampling1D")
def upsampling1d(b, cfg, inputs):
    x = inputs[0]
    _, length, channels = b.shape(x)
    image = b.reshape(x, [1, length, channels])
    target = b.const([1, length * int(cfg.get("size", 2))], np.int32, "size")
    out = b.op("RESIZE_NEAREST_NEIGHBOR", [image, target])
    return b.reshape(out, list(b.shape(out)[2:]))


@keras_layer("Resizing")
def resizing(b, cfg, inputs):
    """RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR to (height, width) with half-pixel centers,
    as Keras 3 resizes (no antialiasing)."""
    x = inputs[0]
    if cfg.get("crop_to_aspect_ratio") or cfg.get("pad_to_aspect_ratio") or \
            cfg.get("antialias"):
        raise b.unsupported("crop_to_aspect_ratio, pad_to_aspect_ratio or antialias")
    target = b.const([int(cfg["height"]), int(cfg["width"])], np.int32, "size")
    mode = cfg.get("interpolation", "bilinear")
    if mode == "bilinear":
        return b.op("RESIZE_BILINEAR", [x, target], {"half_pixel_centers": True})
    if mode == "nearest":
        return b.op("RESIZE_NEAREST_NEIGHBOR", [x, target], {"half_pixel_centers": True})
    raise b.unsupported(f"interpolation={mode!r}")
