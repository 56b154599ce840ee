"""Kernels that work in place (fused activations, bias adds, clamps, PRELU, HARD_SWISH) only
ever overwrite arrays they made: their inputs, constants included, come out unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.ops import get_op

RNG = np.random.default_rng(0)


def values(*shape):
    return RNG.uniform(-8, 8, shape).astype(np.float32)


CONV = {"padding": "SAME", "stride_h": 1, "stride_w": 1, "dilation_h_factor": 1,
        "dilation_w_factor": 1, "fused_activation_function": "RELU6"}
CASES = [
    ("ADD", {"fused_activation_function": "RELU"}, [values(2, 6, 5, 3), values(3)]),
    ("MUL", {"fused_activation_function": "NONE"}, [values(2, 6, 5, 3), values(2, 1, 1, 3)]),
    ("SUB", {"fused_activation_function": "RELU6"}, [values(1, 1, 3), values(2, 6, 5, 3)]),
    ("CONV_2D", CONV, [values(2, 6, 5, 3), values(4, 1, 1, 3), values(4)]),
    ("CONV_2D", CONV, [values(2, 6, 5, 3), values(4, 3, 3, 3), values(4)]),
    ("DEPTHWISE_CONV_2D", {**CONV, "depth_multiplier": 1}, [values(2, 6, 5, 3),
                                                           values(1, 3, 3, 3), values(3)]),
    ("DEPTHWISE_CONV_2D", {**CONV, "depth_multiplier": 1, "stride_w": 2},
     [values(2, 6, 5, 3), values(1, 3, 3, 3), values(3)]),
    ("PRELU", {}, [values(2, 6, 5, 3), np.float32([[[0.1, 0.5, 0.9]]])]),
    ("PRELU", {}, [values(2, 6, 5, 3), np.float32([[[1.5, 2.0, 3.0]]])]),
    ("PRELU", {}, [values(2, 6, 5, 3), np.float32([[[-0.5, 0.0, 2.0]]])]),
    ("HARD_SWISH", {}, [values(2, 6, 5, 3)]),
    ("RESIZE_BILINEAR", {"align_corners": False, "half_pixel_centers": True},
     [values(2, 6, 5, 3), np.int32([12, 10])]),
    ("MEAN", {"keep_dims": True}, [values(2, 6, 5, 3), np.int32([1, 2])]),
    ("AVERAGE_POOL_2D", {"padding": "VALID", "stride_h": 1, "stride_w": 1, "filter_height": 6,
                         "filter_width": 5, "fused_activation_function": "RELU"},
     [values(2, 6, 5, 3)]),
]


@pytest.mark.parametrize("op_type,attrs,inputs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_inputs_are_unchanged(op_type, attrs, inputs):
    before = [x.copy() for x in inputs]
    get_op(op_type).run(attrs, inputs)
    for x, original in zip(inputs, before):
        np.testing.assert_array_equal(x, original)
