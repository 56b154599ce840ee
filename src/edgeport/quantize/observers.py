"""Streaming range observers: what a calibration pass learns about each activation tensor.

Every observer sees batches through `Observer.update` and keeps statistics whose size does not
depend on the number of samples (a pair of floats, or one fixed-size histogram), so calibrating
over 100 or 100,000 samples takes the same memory (unlike calibrators that keep every
intermediate output, onnxruntime#11020). `Observer.range` returns the (min, max) to quantize
with:
- ``minmax``: the running min and max (TFLite's converter; no clipping, outlier-sensitive);
- ``moving_average``: an exponential moving average of per-sample min and max (TF MOT / QAT's
  EMA ranges, PyTorch's MovingAverageMinMaxObserver, averaging constant 0.01);
- ``percentile``: clip both tails at a percentile of the histogram (default 99.99);
- ``entropy``: TensorRT's KL-divergence threshold (Migacz, GTC 2017) on the |x| histogram;
- ``mse``: the clip range minimizing the expected squared quantization error.
The histogram observers share one 2048-bin histogram that grows by merging whole bins, so its
counts stay exact when later batches widen the range. `quantization_range` is what TFLite's
converter then makes of an observed range before it picks int8 parameters.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import QuantizationError

LEVELS = 255  # int8 steps between the ends of an asymmetric range
NEAR_ZERO_TOLERANCE = 1e-6  # kNearZeroTolerance (TFLite's MLIR quantizer)


def quantization_range(low: float, high: float) -> tuple[float, float]:
    """The range TFLite's converter quantizes an observed [low, high] with (ConvertStatsToQDQs
    and its TensorRangeSanityCheck, prepare_quantize_helper.h): widened to hold 0, then, if
    narrower than 1e-6, widened by 1e-6 on each side. An all-zero or constant tensor thus gets
    a scale of about 7.8e-9 rather than a degenerate one (scale 0, or one so small that 6.0,
    RELU6's bound, overflows int32 in output steps)."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    if abs(high - low) < NEAR_ZERO_TOLERANCE:
        low, high = low - NEAR_ZERO_TOLERANCE, high + NEAR_ZERO_TOLERANCE
    return low, high


class Observer:
    """Base class: running min and max of every finite value seen."""

    def __init__(self):
        self.min, self.max = math.inf, -math.inf

    def update(self, x: np.ndarray, samples: int = 1) -> None:
        """Observe ``x``, a batch of ``samples`` samples along axis 0 (or one observation when
        its first dimension is not the sample count)."""
        x = finite(x)
        if x.size:
            self.min = min(self.min, float(x.min()))
            self.max = max(self.max, float(x.max()))

    @property
    def seen(self) -> bool:
        return self.min <= self.max

    def range(self) -> tuple[float, float]:
        return self.min, self.max


class MinMaxObserver(Observer):
    """The running min and max (the default, as TFLite's converter)."""


class MovingAverageObserver(Observer):
    """An exponential moving average, over samples, of each sample's min and max:
    ``m <- m + c * (sample_min - m)``; the first sample sets it."""

    def __init__(self, averaging_constant: float = 0.01):
        super().__init__()
        self.c = float(averaging_constant)
        self.avg: tuple[float, float] | None = None

    def update(self, x, samples=1):
        super().update(x, samples)
        if x.ndim and x.shape[0] == samples and samples > 1:
            flat = x.reshape(samples, -1)
            lows, highs = _per_row(flat, np.min), _per_row(flat, np.max)
        else:
            x = finite(x)
            if not x.size:
                return
            lows, highs = np.array([x.min()]), np.array([x.max()])
        keep = np.isfinite(lows) & np.isfinite(highs)
        for lo, hi in zip(lows[keep], highs[keep]):
            if self.avg is None:
                self.avg = (float(lo), float(hi))
            else:
                a, b = self.avg
                self.avg = (a + self.c * (float(lo) - a), b + self.c * (float(hi) - b))

    def range(self):
        return self.avg if self.avg is not None else super().range()


class HistogramObserver(Observer):
    """A histogram of ``bins`` equal bins over a range that grows to cover every value.

    Growing merges ``k`` old bins into one new bin (the new grid is aligned to the old one), so
    counts are never re-interpolated. Subclasses choose the range from the histogram."""

    def __init__(self, bins: int = 2048):
        super().__init__()
        self.bins = bins
        self.counts = np.zeros(bins, np.float64)
        self.lo = 0.0
        self.width = 0.0

    def update(self, x, samples=1):
        x = finite(x)
        if not x.size:
            return
        lo, hi = float(x.min()), float(x.max())
        self.min, self.max = min(self.min, lo), max(self.max, hi)
        self._cover(lo, hi)
        index = ((x.astype(np.float64) - self.lo) / self.width).astype(np.int64)
        np.clip(index, 0, self.bins - 1, out=index)
        self.counts += np.bincount(index.reshape(-1), minlength=self.bins)

    def _cover(self, lo: float, hi: float) -> None:
        if self.width == 0.0:
            span = hi - lo
            self.lo = lo
            self.width = span / self.bins if span > 0 else max(abs(lo), 1.0) * 1e-6
            return
        top = self.lo + self.bins * self.width
        if lo >= self.lo and hi <= top:
            return
        need_lo, need_hi = min(lo, self.lo), max(hi, top)
        shift = math.ceil((self.lo - need_lo) / self.width)  # old bins added below
        k = max(2, math.ceil((need_hi - need_lo) / (self.bins * self.width)))
        while self.lo - shift * self.width + self.bins * k * self.width < need_hi:
            k += 1
        groups = (np.arange(self.bins) + shift) // k
        self.counts = np.bincount(groups, weights=self.counts, minlength=self.bins)
        self.lo -= shift * self.width
        self.width *= k

    def centers(self) -> np.ndarray:
        return self.lo + (np.arange(self.bins) + 0.5) * self.width


class PercentileObserver(HistogramObserver):
    """Clips both tails: the range is [(100 - p)th, p-th] percentile of the values."""

    def __init__(self, percentile: float = 99.99, bins: int = 2048):
        super().__init__(bins)
        if not 50 < percentile <= 100:
            raise QuantizationError(f"percentile must be in (50, 100], got {percentile}")
        self.percentile = float(percentile)

    def range(self):
        if not self.seen:
            return super().range()
        cdf = np.cumsum(self.counts) / self.counts.sum()
        tail = 1 - self.percentile / 100
        low_bin = int(np.searchsorted(cdf, tail, side="right"))
        high_bin = int(np.searchsorted(cdf, 1 - tail, side="left"))
        lo = self.lo + low_bin * self.width
        hi = self.lo + (min(high_bin, self.bins - 1) + 1) * self.width
        return max(self.min, lo), min(self.max, hi)


class EntropyObserver(HistogramObserver):
    """TensorRT's entropy calibration: on the histogram of |x|, the threshold T whose
    quantized distribution (``levels`` steps over [0, T], outliers folded into the last bin) is
    closest in KL divergence to the original. Non-negative tensors (after ReLU) use all 255
    int8 steps of the asymmetric range; signed ones 128 per side."""

    def __init__(self, bins: int = 2048, candidates: int = 256):
        super().__init__(bins)
        self.candidates = candidates

    def range(self):
        if not self.seen:
            return super().range()
        amax = max(abs(self.min), abs(self.max))
        if amax == 0:
            return self.min, self.max
        levels = LEVELS if self.min >= 0 else 128
        n = self.bins
        hist = np.bincount(np.minimum((np.abs(self.centers()) / amax * n).astype(np.int64), n - 1),
                           weights=self.counts, minlength=n)
        best, best_i = math.inf, n
        step = max(1, (n - levels) // self.candidates)
        for i in range(levels, n + 1, step):
            divergence = _kl_of_threshold(hist, i, levels)
            if divergence < best:
                best, best_i = divergence, i
        threshold = best_i * amax / n
        return max(self.min, -threshold), min(self.max, threshold)


def _kl_of_threshold(hist: np.ndarray, i: int, levels: int) -> float:
    """KL(P || Q): P the first ``i`` bins with the rest folded into bin ``i - 1``, Q those
    ``i`` bins merged into ``levels`` groups and spread back over each group's non-empty bins."""
    p = hist[:i].copy()
    p[-1] += hist[i:].sum()
    group = (np.arange(i) * levels) // i
    nonzero = hist[:i] > 0
    merged = np.bincount(group, weights=hist[:i], minlength=levels)
    filled = np.bincount(group, weights=nonzero, minlength=levels)
    q = np.where(nonzero, merged[group] / np.maximum(filled[group], 1), 0.0)
    p_sum, q_sum = p.sum(), q.sum()
    if p_sum == 0 or q_sum == 0:
        return math.inf
    p, q = p / p_sum, q / q_sum
    eps = 1e-12
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], eps))))


class MSEObserver(HistogramObserver):
    """The clip range [a, b] (a <= 0 <= b) minimizing the expected squared error of int8
    quantization: values inside lose a rounding error of about ``(step**2) / 12``, values
    outside the distance to the clip. Searches ``grid`` fractions of each end independently
    (geometric, from 1e-4 to 1, so long tails are searched as finely as short ones), with
    prefix sums so each candidate costs O(1)."""

    def __init__(self, bins: int = 2048, grid: int = 128):
        super().__init__(bins)
        self.grid = grid

    def range(self):
        if not self.seen:
            return super().range()
        c, n = self.centers(), self.counts
        low, high = min(self.min, 0.0), max(self.max, 0.0)
        fractions = np.geomspace(1e-4, 1.0, self.grid)
        a = (low * fractions)[:, None]  # candidate lower ends (rows)
        b = (high * fractions)[None, :]  # candidate upper ends (columns)
        cum_n, cum_c, cum_cc = (np.concatenate([[0.0], np.cumsum(v)])
                                for v in (n, n * c, n * c * c))
        ia = np.searchsorted(c, a, side="left")  # bins below a: [0, ia)
        ib = np.searchsorted(c, b, side="right")  # bins above b: [ib, bins)

        def below(i, t):  # sum over bins < i of n * (t - c)**2
            return cum_n[i] * t * t - 2 * t * cum_c[i] + cum_cc[i]

        def above(i, t):  # sum over bins >= i of n * (c - t)**2
            count, s, ss = cum_n[-1] - cum_n[i], cum_c[-1] - cum_c[i], cum_cc[-1] - cum_cc[i]
            return ss - 2 * t * s + count * t * t

        inside = cum_n[ib] - cum_n[ia]
        step = (b - a) / LEVELS
        error = below(ia, a) + above(ib, b) + inside * step * step / 12
        error = np.where(step > 0, error, np.inf)
        if not np.isfinite(error).any():
            return self.min, self.max
        row, col = np.unravel_index(np.argmin(error), error.shape)
        return max(self.min, float(a[row, 0])), min(self.max, float(b[0, col]))


METHODS = {
    "minmax": MinMaxObserver,
    "moving_average": MovingAverageObserver,
    "percentile": PercentileObserver,
    "entropy": EntropyObserver,
    "mse": MSEObserver,
}
ALIASES = {"min_max": "minmax", "kl": "entropy", "moving_average_minmax": "moving_average",
           "ema": "moving_average", "average_min_max": "moving_average"}


def make_observer(method) -> Observer:
    """An observer from a method name (``"percentile"``, ``"percentile:99.9"`` with its
    parameter, ``"moving_average:0.05"``), an Observer class, or a callable returning one."""
    if isinstance(method, Observer):
        raise QuantizationError("give an observer class or factory, not an instance (each "
                                "tensor needs its own)")
    if callable(method):
        return method()
    text = str(method).strip().lower()
    name, _, arg = text.partition(":")
    name = ALIASES.get(name, name)
    if name not in METHODS:
        raise QuantizationError(f"unknown calibration method {method!r}; choose from "
                                f"{', '.join(METHODS)}")
    if not arg:
        return METHODS[name]()
    try:
        value = float(arg)
    except ValueError:
        raise QuantizationError(f"calibration method {method!r}: {arg!r} is not a number") \
            from None
    if name not in ("percentile", "moving_average"):
        raise QuantizationError(f"calibration method {name!r} takes no parameter")
    return METHODS[name](value)


def finite(x: np.ndarray) -> np.ndarray:
    """``x`` without its NaN and infinite values (``x`` itself when all are finite)."""
    x = np.asarray(x)
    if x.size and not np.isfinite(x).all():
        return x[np.isfinite(x)]
    return x


def _per_row(flat: np.ndarray, reduce) -> np.ndarray:
    """``reduce`` of each row over its finite values (NaN for a row with none)."""
    if np.isfinite(flat).all():
        return reduce(flat, axis=1).astype(np.float64)
    fill = np.inf if reduce is np.min else -np.inf
    values = reduce(np.where(np.isfinite(flat), flat, fill), axis=1).astype(np.float64)
    return np.where(np.isfinite(values), values, np.nan)
