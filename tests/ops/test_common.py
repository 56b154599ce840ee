"""ops.common.fold_channels: the folded operands give the same elementwise results as NumPy's
own broadcasting, for either operand order; shapes it cannot fold are left alone."""

from __future__ import annotations

import numpy as np
import pytest

from edgeport.ops.common import add_per_channel, fold_channels

X = np.arange(1, 1 + 2 * 16 * 16 * 8, dtype=np.float32).reshape(2, 16, 16, 8)


@pytest.mark.parametrize("small_shape", [(8,), (1, 8), (1, 1, 8), (1, 1, 1, 8), (2, 1, 1, 8)])
@pytest.mark.parametrize("op", [np.subtract, np.divide, np.maximum])
def test_folded_operands_give_numpys_result(small_shape, op):
    small = np.random.default_rng(0).uniform(1, 2, small_shape).astype(np.float32)
    for x, y in ((X, small), (small, X)):
        folded = fold_channels(x, y)
        assert folded is not None and folded[0].ndim < 4 and folded[2] == X.shape
        assert np.array_equal(op(*folded[:2]).reshape(folded[2]), op(x, y))


@pytest.mark.parametrize("other", [np.ones((16, 1), np.float32), X.copy(), np.float32(2),
                                   np.ones((2, 16, 16, 1), np.float32),
                                   np.ones((16, 1, 8), np.float32),      # one value per row:
                                   np.ones((2, 16, 1, 8), np.float32)])  # tiling copies a lot
def test_other_broadcasts_are_not_folded(other):
    assert fold_channels(X, other) is None


def test_non_contiguous_operand_is_not_folded():
    assert fold_channels(X.transpose(0, 2, 1, 3), np.ones(8, np.float32)) is None


def test_small_arrays_are_not_folded():
    assert fold_channels(X[:1, :8], np.ones(8, np.float32)) is None  # 1,024 elements


def test_add_per_channel_adds_in_place():
    out, bias = X.copy(), np.arange(8, dtype=np.float32)
    add_per_channel(out, bias)
    assert np.array_equal(out, X + bias)
