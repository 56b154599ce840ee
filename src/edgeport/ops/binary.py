"""Elementwise binary ops with NumPy broadcasting (TFLite broadcasts up to 6-D)."""

from __future__ import annotations

import numpy as np

from .options import Activation, Bool, Options
from .registry import OpDef, register_op


@register_op("ADD")
class Add(OpDef):
    options = Options("AddOptions", fused_activation_function=Activation, pot_scale_int16=Bool)

    def run_float(self, attrs, x, y):
        return np.add(x, y)
