"""Normalizations over the last axis: SOFTMAX, LOG_SOFTMAX, L2_NORMALIZATION.

Each mirrors TFLite's float reference kernel row by row (the last axis is the "depth"), with the
max subtracted before exponentiating so that large inputs cannot overflow.
"""

from __future__ import annotations

import numpy as np

from .options import Activation, Float, Options
from .registry import OpDef, register_op

# reference_ops::L2Normalization divides by max(||x||, epsilon) so that zero rows stay zero.
L2_NORM_EPSILON = np.float32(1e-6)


class LastAxisOp(OpDef):
    """An op over the last axis whose output has its input's shape."""

    def shape(self, attrs, x):
        return [x.shape]


@register_op("SOFTMAX")
class Softmax(LastAxisOp):
    options = Options("SoftmaxOptions", beta=Float)

    def run_float(self, attrs, x):
        # reference_ops::Softmax: exp((x - max) * beta) / sum. Subtracting the max keeps the
        # exponents <= 0 for beta >= 0; for a negative beta the min does the same.
        beta = x.dtype.type(attrs["beta"])
        shift = x.max(axis=-1, keepdims=True) if beta >= 0 else x.min(axis=-1, keepdims=True)
        e = np.exp((x - shift) * beta)
        return e / e.sum(axis=-1, keepdims=True)


@register_op("LOG_SOFTMAX")
class LogSoftmax(LastAxisOp):
    options = Options("LogSoftmaxOptions")

    def run_float(self, attrs, x):
        # reference_ops::LogSoftmax: (x - max) - log(sum(exp(x - max))).
        shifted = x - x.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@register_op("L2_NORMALIZATION")
class L2Normalization(LastAxisOp):
    options = Options("L2NormOptions", fused_activation_function=Activation)

    def run_float(self, attrs, x):
        norm = np.sqrt(np.square(x).sum(axis=-1, keepdims=True))
        return x / np.maximum(norm, L2_NORM_EPSILON)
