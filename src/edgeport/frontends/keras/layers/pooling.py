"""Pooling: Max/AveragePooling1D/2D and the global poolings (keepdims)."""

from __future__ import annotations

import numpy as np

from . import keras_layer
from .conv import check_window, padding


def pool2d(b, cfg, x, op_type, size, strides) -> str:
    attrs = {"padding": padding(b, cfg), "stride_h": strides[0], "stride_w": strides[1],
             "filter_height": size[0], "filter_width": size[1]}
    check_window(b, x, attrs, size)
    return b.op(op_type, [x], attrs)


def pool1d(b, cfg, x, op_type) -> str:
    """A 2-D pool over [N, 1, L, C], between EXPAND_DIMS and SQUEEZE."""
    b.shape(x, rank=3)
    (size,) = cfg.ints("pool_size", 1, 2)
    (stride,) = cfg.ints("strides", 1, size)
    image = b.as_image(x)
    out = pool2d(b, cfg, image, op_type, (1, size), (1, stride))
    return b.from_image(out)


@keras_layer("MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D")
def pooling2d(b, cfg, inputs):
    op_type = "MAX_POOL_2D" if b.class_name.startswith("Max") else "AVERAGE_POOL_2D"
    size = cfg.ints("pool_size", 2, 2)
    return pool2d(b, cfg, inputs[0], op_type, size, cfg.ints("strides", 2, size))


@keras_layer("MaxPooling1D", "AveragePooling1D", "MaxPool1D", "AvgPool1D")
def pooling1d(b, cfg, inputs):
    op_type = "MAX_POOL_2D" if b.class_name.startswith("Max") else "AVERAGE_POOL_2D"
    return pool1d(b, cfg, inputs[0], op_type)


@keras_layer("GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
             "GlobalMaxPooling1D", "GlobalAvgPool2D", "GlobalMaxPool2D", "GlobalAvgPool1D",
             "GlobalMaxPool1D")
def global_pooling(b, cfg, inputs):
    """MEAN / REDUCE_MAX over the spatial axes."""
    axes = [1, 2] if b.class_name.endswith("2D") else [1]
    b.shape(inputs[0], rank=len(axes) + 2)
    op_type = "REDUCE_MAX" if "Max" in b.class_name else "MEAN"
    return b.op(op_type, [inputs[0], b.const(axes, np.int32, "axes")],
                {"keep_dims": cfg.bool("keepdims", False)})
