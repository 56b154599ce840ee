"""The registry's generic parts: fused activations applied once, in place only when safe."""

import numpy as np
import pytest

from edgeport.ops import OpDef


class _Passthrough(OpDef):
    """A stand-in kernel that returns its input itself, or a view of it."""

    name = "PASSTHROUGH"

    def run_float(self, attrs, x):
        return x[...] if attrs.get("view") else x


class _Fresh(OpDef):
    name = "FRESH"

    def run_float(self, attrs, x):
        return x * 1


@pytest.mark.parametrize("view", [False, True])
def test_fused_activation_never_overwrites_an_input(view):
    x = np.array([-2.0, 0.5, 7.0], np.float32)
    (out,) = _Passthrough().run({"fused_activation_function": "RELU6", "view": view}, [x])
    np.testing.assert_array_equal(out, [0, 0.5, 6])
    np.testing.assert_array_equal(x, [-2.0, 0.5, 7.0])


@pytest.mark.parametrize("activation, expected", [("RELU", [0, 0.5, 7]), ("RELU6", [0, 0.5, 6]),
                                                  ("RELU_N1_TO_1", [-1, 0.5, 1]),
                                                  ("NONE", [-2, 0.5, 7])])
def test_fused_activation_on_a_fresh_result(activation, expected):
    x = np.array([-2.0, 0.5, 7.0], np.float32)
    (out,) = _Fresh().run({"fused_activation_function": activation}, [x])
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(x, [-2.0, 0.5, 7.0])
