"""BatchNormalization, LayerNormalization and Normalization.

BatchNormalization becomes a per-channel MUL and ADD with constants; the batch-norm folding
pass then merges them into a preceding CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED.
"""

from __future__ import annotations

import numpy as np

from . import keras_layer


def last_axis_only(b, cfg, x) -> None:
    if cfg.axes("axis", b.rank(x), -1) != [b.rank(x) - 1]:
        raise b.unsupported(f"normalization over axis {cfg.get('axis')} (only the last axis, "
                            "channels)")


def affine(b, x, scale, shift) -> str:
    """x * scale + shift over the last axis."""
    return b.op("ADD", [b.op("MUL", [x, b.const(scale, suffix="scale")]),
                        b.const(shift, suffix="shift")])


@keras_layer("BatchNormalization")
def batch_normalization(b, cfg, inputs):
    """Inference batch norm: (x - mean) / sqrt(var + eps) * gamma + beta = x * s + t."""
    x = inputs[0]
    last_axis_only(b, cfg, x)
    channels = (b.shape(x)[-1],)
    use_scale, use_center = cfg.bool("scale", True), cfg.bool("center", True)
    weights = b.weights(*[channels] * (2 + use_scale + use_center))
    gamma = weights.pop(0) if use_scale else np.ones(channels, np.float32)
    beta = weights.pop(0) if use_center else np.zeros(channels, np.float32)
    mean, variance = weights
    scale = gamma / np.sqrt(variance.astype(np.float64) + cfg.float("epsilon", 1e-3))
    return affine(b, x, scale, beta - mean * scale)


@keras_layer("LayerNormalization")
def layer_normalization(b, cfg, inputs):
    """(x - mean) * rsqrt(var + eps) * gamma + beta over the last axis, var the mean squared
    difference (Keras's formula)."""
    x = inputs[0]
    last_axis_only(b, cfg, x)
    if cfg.bool("rms_scaling", False):
        raise b.unsupported("rms_scaling=True")
    channels = (b.shape(x)[-1],)
    use_scale, use_center = cfg.bool("scale", True), cfg.bool("center", True)
    weights = b.weights(*[channels] * (use_scale + use_center))
    axis = b.const([b.rank(x) - 1], np.int32, "axis")
    mean = b.op("MEAN", [x, axis], {"keep_dims": True})
    variance = b.op("MEAN", [b.op("SQUARED_DIFFERENCE", [x, mean]), axis], {"keep_dims": True})
    inv = b.op("RSQRT", [b.op("ADD", [variance, b.const(cfg.float("epsilon", 1e-3))])])
    out = b.op("MUL", [b.op("SUB", [x, mean]), inv])
    if use_scale:
        out = b.op("MUL", [out, b.const(weights.pop(0), suffix="gamma")])
    if use_center:
        out = b.op("ADD", [out, b.const(weights.pop(0), suffix="beta")])
    return out


@keras_layer("Normalization")
def normalization(b, cfg, inputs):
    """(x - mean) / max(sqrt(var), 1e-7), or its inverse; mean and variance from the config
    when given there, else the adapted weights (mean, variance, count)."""
    x = inputs[0]
    last_axis_only(b, cfg, x)
    if cfg.has("mean"):
        mean, variance = cfg.numbers("mean"), cfg.numbers("variance")
    else:
        mean, variance, _ = b.weights(None, None, None)
    std = np.maximum(np.sqrt(np.asarray(variance, np.float64)), 1e-7)
    mean = np.asarray(mean, np.float64)
    if cfg.bool("invert", False):
        return affine(b, x, std.reshape(-1), mean.reshape(-1))
    return affine(b, x, (1 / std).reshape(-1), (-mean / std).reshape(-1))
