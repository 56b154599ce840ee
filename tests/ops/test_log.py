"""LOG against LiteRT (what the Keras frontend builds softplus from)."""

import numpy as np
import pytest

from tests.ops.test_activations import EDGE_VALUES, unary


@pytest.mark.parametrize("shape", [(7,), (2, 4, 5, 3)])
def test_log_matches_litert(shape):
    x = np.random.default_rng(1).uniform(1e-3, 50, shape).astype(np.float32)
    got = unary("LOG", x)
    assert got[0].dtype == np.float32


def test_log_edge_values_match_litert():
    # 0 -> -inf, negatives and NaN -> NaN, denormal-adjacent and huge values: relative only
    x = np.concatenate([EDGE_VALUES, [1.0, 1e-38, 1.5e-45]]).astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        unary("LOG", x, atol=0)
