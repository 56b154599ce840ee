"""Spatial reshaping: ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D, Resizing,
CenterCrop."""

from __future__ import annotations

import numpy as np

from ..fields import is_int
from . import keras_layer


def pads(cfg, key: str, dims: int, default: int) -> list[tuple[int, int]]:
    """Keras padding/cropping: an int, one int per dim, or (before, after) per dim (a 1D
    layer's may be the one pair itself); every amount >= 0."""
    value = cfg.get(key, default)
    if is_int(value):
        value = [value] * dims
    elif dims == 1 and isinstance(value, list) and len(value) == 2 and all(map(is_int, value)):
        value = [value]
    per_dim = [(v, v) if is_int(v) else v for v in value] if isinstance(value, list) else []
    if len(per_dim) != dims or not all(isinstance(p, list | tuple) and len(p) == 2 and
                                       all(is_int(n) and n >= 0 for n in p) for p in per_dim):
        raise cfg.error(key, f"an integer >= 0, or {dims} of them or of (before, after) pairs")
    return [tuple(p) for p in per_dim]


def spatial(b, x, dims: int, amounts, sign: int) -> None:
    """Check that ``x`` has ``dims`` spatial dims and that adding (``sign`` 1) or cutting
    (-1) the (before, after) ``amounts`` leaves a shape that can exist."""
    shape = b.shape(x, rank=dims + 2)
    b.check_size([shape[0], *(d + sign * (before + after)
                              for d, (before, after) in zip(shape[1:], amounts)),
                  shape[-1]], "its output")


@keras_layer("ZeroPadding1D", "ZeroPadding2D")
def zero_padding(b, cfg, inputs):
    dims = 1 if b.class_name.endswith("1D") else 2
    amounts = pads(cfg, "padding", dims, 1)
    spatial(b, inputs[0], dims, amounts, 1)
    paddings = [(0, 0), *amounts, (0, 0)]
    return b.op("PAD", [inputs[0], b.const(paddings, np.int32, "paddings")])


@keras_layer("Cropping1D", "Cropping2D")
def cropping(b, cfg, inputs):
    dims = 1 if b.class_name.endswith("1D") else 2
    amounts = pads(cfg, "cropping", dims, 1 if dims == 1 else 0)
    spatial(b, inputs[0], dims, amounts, -1)
    return crop(b, inputs[0], amounts)


@keras_layer("CenterCrop")
def center_crop(b, cfg, inputs):
    """The middle height x width window (the extra row/column, if odd, cut at the end)."""
    x = inputs[0]
    _, h, w, _ = b.shape(x, rank=4)
    target = cfg.int("height", minimum=1), cfg.int("width", minimum=1)
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


def resize_target(b, shape) -> str:
    """The [height, width] size input of a RESIZE op whose output has ``shape`` (NHWC),
    once a tensor of that shape can exist."""
    b.check_size(shape, "its output")
    return b.const(shape[1:3], np.int32, "size")


@keras_layer("UpSampling2D")
def upsampling2d(b, cfg, inputs):
    """Nearest: each pixel repeated (RESIZE_NEAREST_NEIGHBOR, no half-pixel shift); bilinear:
    half-pixel centers, as Keras 3 resizes."""
    x = inputs[0]
    size = cfg.ints("size", 2, 2)
    n, h, w, c = b.shape(x, rank=4)
    target = resize_target(b, (n, h * size[0], w * size[1], c))
    mode = cfg.text("interpolation", "nearest")
    if mode == "nearest":
        return b.op("RESIZE_NEAREST_NEIGHBOR", [x, target])
    if mode == "bilinear":
        return b.op("RESIZE_BILINEAR", [x, target], {"half_pixel_centers": True})
    raise b.unsupported(f"interpolation={mode!r}")


@keras_layer("UpSampling1D")
def upsampling1d(b, cfg, inputs):
    x = inputs[0]
    n, length, channels = b.shape(x, rank=3)
    image = b.as_image(x)
    target = resize_target(b, (n, 1, length * cfg.int("size", 2, minimum=1), channels))
    out = b.op("RESIZE_NEAREST_NEIGHBOR", [image, target])
    return b.from_image(out)


@keras_layer("Resizing")
def resizing(b, cfg, inputs):
    """RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR to (height, width) with half-pixel centers,
    as Keras 3 resizes (no antialiasing)."""
    x = inputs[0]
    if any(cfg.bool(key, False) for key in ("crop_to_aspect_ratio", "pad_to_aspect_ratio",
                                            "antialias")):
        raise b.unsupported("crop_to_aspect_ratio, pad_to_aspect_ratio or antialias")
    n, _, _, c = b.shape(x, rank=4)
    target = resize_target(b, (n, cfg.int("height", minimum=1), cfg.int("width", minimum=1),
                               c))
    mode = cfg.text("interpolation", "bilinear")
    if mode == "bilinear":
        return b.op("RESIZE_BILINEAR", [x, target], {"half_pixel_centers": True})
    if mode == "nearest":
        return b.op("RESIZE_NEAREST_NEIGHBOR", [x, target], {"half_pixel_centers": True})
    raise b.unsupported(f"interpolation={mode!r}")
