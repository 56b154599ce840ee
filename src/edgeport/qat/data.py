"""The arrays a `QATModel` is given, checked and cut into batches.

Every array a user passes (``x``, ``y``, ``validation_data``, a representative dataset) is
checked here before any jax work starts, so that a bad call raises a QuantizationError naming
the argument and leaves the model as it was. Axis 0 indexes samples throughout.
"""

from __future__ import annotations

import numpy as np

from ..errors import QuantizationError
from ..graph import Graph

RANGE_BATCHES = 8  # batches of samples whose min/max start the ranges when none are set


def model_inputs(graph: Graph, x, what: str = "x") -> list[np.ndarray]:
    """``x`` (one array, or a list/tuple with one per model input) as float32 arrays that fit
    ``graph``'s inputs: numeric, finite, non-empty, of matching shapes (-1 matches any size)
    and holding the same number of samples."""
    arrays = list(x) if isinstance(x, (list, tuple)) else [x]
    names = graph.inputs
    if len(arrays) != len(names):
        raise QuantizationError(f"{what}: {len(arrays)} array(s) for a model with "
                                f"{len(names)} input(s) ({', '.join(names)})")
    out = [_model_input(graph, name, array, what) for name, array in zip(names, arrays)]
    if len({a.shape[0] for a in out}) != 1:
        raise QuantizationError(f"{what}: the inputs hold different numbers of samples")
    return out


def _model_input(graph: Graph, name: str, array, what: str) -> np.ndarray:
    """One input array, checked against the graph input ``name``, as float32."""
    array = np.asarray(array)
    want = graph.tensors[name].shape
    if array.dtype.kind not in "fiu":
        raise QuantizationError(f"{what}: dtype {array.dtype} is not numeric")
    array = array.astype(np.float32, copy=False)
    if array.ndim != len(want) or any(w > 0 and w != a for w, a in
                                      zip(want[1:], array.shape[1:])):
        raise QuantizationError(f"{what}: shape {tuple(array.shape)} does not fit "
                                f"input {name!r} of shape {list(want)} (axis 0 "
                                "indexes samples)")
    if array.shape[0] == 0:
        raise QuantizationError(f"{what}: holds no samples")
    if not np.isfinite(array).all():
        raise QuantizationError(f"{what}: holds NaN or Inf values")
    return array


def targets(y, count: int, what: str = "y") -> np.ndarray:
    """``y`` as an array of ``count`` finite numeric targets (labels or values)."""
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != count:
        raise QuantizationError(f"{what}: {y.shape[0] if y.ndim else 0} target(s) for "
                                f"{count} input sample(s); x and y must match along "
                                "axis 0")
    if y.dtype.kind not in "fiub" or (y.dtype.kind == "f" and not np.isfinite(y).all()):
        raise QuantizationError(f"{what}: targets must be finite numbers")
    return y


def validation_data(graph: Graph, data) -> tuple[list[np.ndarray], np.ndarray | None] | None:
    """fit's ``validation_data`` as (inputs, targets): a 2-tuple is (x_val, y_val); anything
    else is x_val alone, whose targets are then the float model's outputs (None here)."""
    if data is None:
        return None
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
        inputs = model_inputs(graph, x, "validation_data x")
        return inputs, targets(y, inputs[0].shape[0], "validation_data y")
    return model_inputs(graph, data, "validation_data"), None


def calibration_dataset(graph: Graph, dataset):
    """A representative dataset for PTQ's `calibrate`: arrays of samples (one array, or a list
    of arrays for a model with several inputs) become one single-sample batch per sample;
    anything else (an iterable of batches) passes unchanged."""
    if isinstance(dataset, np.ndarray) or (isinstance(dataset, (list, tuple)) and dataset
                                           and isinstance(dataset[0], np.ndarray)
                                           and len(graph.inputs) > 1):
        arrays = model_inputs(graph, dataset, "representative_dataset")
        return [[a[i:i + 1] for a in arrays] for i in range(arrays[0].shape[0])]
    return dataset


def range_samples(inputs: list[np.ndarray], batch_size: int) -> list[np.ndarray]:
    """The first RANGE_BATCHES batches of ``inputs``: enough samples for first ranges, few
    enough to observe in one forward pass."""
    return [a[:batch_size * RANGE_BATCHES] for a in inputs]


def batches(rng: np.random.Generator | None, count: int, batch_size: int, shuffle: bool):
    """Index arrays of the batches of ``count`` samples, in order or (``shuffle``) in an order
    drawn from ``rng``. Shuffled (training) batches are all full when there are enough
    samples, so the train step compiles once; each epoch drops a different remainder."""
    order = rng.permutation(count) if shuffle else np.arange(count)
    stop = count - count % batch_size if shuffle and count >= batch_size else count
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]
