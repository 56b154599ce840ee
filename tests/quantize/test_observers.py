"""Range observers on known distributions: each method's range is the one it promises."""

import numpy as np
import pytest

from edgeport.errors import QuantizationError
from edgeport.quantize.observers import (EntropyObserver, HistogramObserver,
                                         MinMaxObserver, MovingAverageObserver, MSEObserver,
                                         PercentileObserver, make_observer)


def feed(observer, x, batches=10):
    for part in np.array_split(x, batches):
        observer.update(part, samples=len(part))
    return observer.range()


def heavy_tailed(n=200_000, seed=0):
    """Student-t (2 degrees of freedom): most mass within +-3, rare values far out."""
    return np.random.default_rng(seed).standard_t(2, n).astype(np.float32)


def test_minmax_is_exact():
    x = np.random.default_rng(1).normal(size=10_000).astype(np.float32)
    assert feed(MinMaxObserver(), x) == (float(x.min()), float(x.max()))


def test_percentile_clips_outliers():
    x = np.random.default_rng(2).uniform(-1, 1, 100_000).astype(np.float32)
    x[:5] = [50, -40, 30, 60, -70]
    lo, hi = feed(PercentileObserver(99.9), x)
    assert -1.1 < lo < -0.95 and 0.95 < hi < 1.1


def test_kl_narrower_than_minmax_on_heavy_tails():
    x = heavy_tailed()
    lo, hi = feed(EntropyObserver(), x)
    mlo, mhi = feed(MinMaxObserver(), x)
    assert hi - lo < 0.5 * (mhi - mlo)
    # but they keep the bulk of the distribution
    assert lo < np.quantile(x, 0.01) and hi > np.quantile(x, 0.99)


def quantization_mse(x, lo, hi):
    scale = (hi - lo) / 255
    q = np.clip(np.round((x - lo) / scale), 0, 255)
    return float(np.mean((lo + q * scale - x) ** 2))


def test_mse_narrower_than_minmax_with_lower_error():
    # Laplace tails: the MSE-optimal 8-bit clip is near 10 scales (Banner et al. 2019), below
    # the sample max. (On infinite-variance tails such as Student-t(2), min/max is MSE-optimal.)
    x = np.random.default_rng(3).laplace(0, 1, 500_000).astype(np.float32)
    lo, hi = feed(MSEObserver(), x)
    mlo, mhi = feed(MinMaxObserver(), x)
    assert hi - lo < 0.9 * (mhi - mlo)
    assert quantization_mse(x, lo, hi) < quantization_mse(x, mlo, mhi)


def test_entropy_keeps_relu_outputs_one_sided():
    x = np.maximum(heavy_tailed(seed=4), 0)
    lo, hi = feed(EntropyObserver(), x)
    assert lo == 0.0 and 1 < hi < float(x.max())


def test_moving_average_follows_per_sample_ranges():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (500, 64)).astype(np.float32)
    x[0, 0] = 100.0  # one sample's outlier barely moves the average of 500 samples
    lo, hi = feed(MovingAverageObserver(0.05), x, batches=50)
    assert -1.01 < lo < -0.9 and 0.9 < hi < 1.6


def test_histogram_grows_without_losing_counts():
    h = HistogramObserver(bins=64)
    rng = np.random.default_rng(6)
    total = 0
    for scale in (0.01, 0.1, 1.0, 10.0, 1000.0):
        x = rng.normal(0, scale, 1000).astype(np.float32) + scale
        h.update(x)
        total += x.size
        edges_lo, edges_hi = h.lo, h.lo + h.bins * h.width
        assert edges_lo <= h.min and h.max <= edges_hi
    assert h.counts.sum() == total


def test_nan_and_inf_activations_are_ignored():
    o = MinMaxObserver()
    o.update(np.array([1.0, np.nan, -np.inf, -2.0], np.float32))
    assert o.range() == (-2.0, 1.0)


def test_make_observer():
    assert isinstance(make_observer("kl"), EntropyObserver)
    assert make_observer("percentile:99.5").percentile == 99.5
    assert make_observer(MSEObserver).__class__ is MSEObserver
    with pytest.raises(QuantizationError, match="unknown calibration method"):
        make_observer("median")
    with pytest.raises(QuantizationError, match="takes no parameter"):
        make_observer("mse:3")
    with pytest.raises(QuantizationError, match="percentile"):
        make_observer("percentile:20")
