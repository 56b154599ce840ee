"""Calibration: run the float model over a representative dataset and observe the range of
every float activation tensor.

The dataset is what ``tf.lite.TFLiteConverter.representative_dataset`` takes: a callable
returning an iterable whose items are lists of input arrays (one per model input, in input
order) or dicts keyed by signature input name (or tensor name). Samples are stacked along the
batch axis and run ``batch_size`` at a time through edgeport's float interpreter, when the model
gives the same results batched (checked once on the first sample: models that hard-code batch 1
in a RESHAPE run one sample at a time). Only the observers' statistics are kept between batches,
so memory does not grow with the number of samples.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Mapping

import numpy as np

from ..errors import EdgeportError, QuantizationError
from ..graph import Graph
from .observers import Observer, make_observer
from .recurrent import cell_state_keys, cell_state_values


def calibrate(graph: Graph, representative_dataset, method="minmax",
              per_tensor: Mapping[str, object] | None = None, batch_size: int = 32,
              progress: bool = True) -> dict[str, tuple[float, float]]:
    """``{tensor name: (min, max)}`` for every float32 activation tensor of ``graph``'s main
    subgraph (inputs, op outputs), as observed by ``method`` over the dataset, and for the
    cell state of every fused LSTM the model calls (its whole range over the time steps,
    keyed by the subgraph's cell-state tensor; quantize/recurrent.py).

    ``per_tensor`` maps tensor names, or op origins (Keras layer names: their output tensors),
    to another method. Raises QuantizationError for an empty dataset, a sample of the wrong
    length, shape or dtype, NaN/Inf in the data, or a tensor no sample ever gave a finite
    value.
    """
    from ..runtime.executor import GraphExecutor
    from ..runtime.kernels import bind_kernels

    # Calibration is batch work, where BLAS threads pay off: every core (num_threads=-1).
    executor = GraphExecutor(graph, bind_kernels(graph, source=graph.name or "model"),
                             preserve_all_tensors=True, num_threads=-1)
    observers = _observers(graph, method, per_tensor or {})
    samples = _samples(graph, representative_dataset)
    first = next(samples, None)
    if first is None:
        raise QuantizationError("representative_dataset yielded no samples: calibration needs "
                                "at least one (typically 100-500 typical inputs)")
    batch_size = batch_size if _batches_safely(executor, graph, first) else 1
    bar = _progress(representative_dataset, progress)
    pending: list[list[np.ndarray]] = []
    for sample in itertools.chain([first], samples):
        pending.append(sample)
        if len(pending) >= batch_size:
            _observe(executor, graph, observers, pending, bar)
            pending = []
    if pending:
        _observe(executor, graph, observers, pending, bar)
    bar.close()
    ranges = {}
    for name, observer in observers.items():
        if not observer.seen:
            raise QuantizationError(f"tensor {name!r} had no finite value on any calibration "
                                    "sample; its range cannot be calibrated")
        ranges[name] = tuple(float(v) for v in observer.range())
    return ranges


def activation_tensors(graph: Graph) -> list[str]:
    """The float32 tensors that vary with the input: graph inputs and op outputs that are not
    folded to constants (weights behind DEQUANTIZE are constants)."""
    from ..runtime.executor import GraphExecutor
    from ..runtime.kernels import bind_kernels

    executor = GraphExecutor(graph, bind_kernels(graph))
    executor.allocate()
    names = [*graph.inputs, *(n for op in graph.ops for n in op.outputs)]
    return [n for n in dict.fromkeys(names)
            if graph.tensors[n].dtype == np.float32 and n not in executor.constants]


def _observers(graph: Graph, method, per_tensor: Mapping[str, object]) -> dict[str, Observer]:
    by_origin: dict[str, list[str]] = {}
    for op in graph.ops:
        if op.origin:
            by_origin.setdefault(op.origin, []).extend(op.outputs)
    names = activation_tensors(graph)
    chosen = {}
    for key, how in per_tensor.items():
        targets = [key] if key in graph.tensors else by_origin.get(key)
        if not targets:
            raise QuantizationError(f"per-tensor calibration method for {key!r}: no tensor or "
                                    "layer of that name in the model")
        for name in targets:
            chosen[name] = how
    make_observer(method)  # a bad global method fails before the first batch
    observers = {name: make_observer(chosen.get(name, method)) for name in names}
    # an integer LSTM's int16 cell state: its whole range, whatever the method
    observers.update({name: Observer() for name in cell_state_keys(graph)})
    return observers


def _samples(graph: Graph, dataset) -> Iterable[list[np.ndarray]]:
    """Each item of the dataset as a validated list of float32 arrays, one per input, each with
    a leading batch axis."""
    items = dataset() if callable(dataset) else dataset
    try:
        iterator = iter(items)
    except TypeError:
        raise QuantizationError("representative_dataset must be a callable returning an "
                                "iterable of samples (lists of input arrays), got "
                                f"{type(items).__name__}") from None
    names = graph.inputs
    aliases = {}
    for signature in graph.signatures[:1]:
        aliases = {key: tensor for key, tensor in signature.inputs.items()}
    for index, item in enumerate(iterator):
        yield [_checked(graph, name, value, index)
               for name, value in zip(names, _as_list(item, names, aliases, index))]


def _as_list(item, names, aliases, index) -> list:
    if isinstance(item, Mapping):
        by_tensor = {aliases.get(k, k): v for k, v in item.items()}
        unknown = [k for k in item if aliases.get(k, k) not in names]
        missing = [n for n in names if n not in by_tensor]
        if unknown or missing:
            raise QuantizationError(
                f"calibration sample {index}: keys {sorted(map(str, item))} do not match the "
                f"model inputs {sorted(aliases) or names}")
        return [by_tensor[n] for n in names]
    if isinstance(item, np.ndarray) and len(names) == 1:
        item = [item]
    if not isinstance(item, (list, tuple)):
        raise QuantizationError(f"calibration sample {index} is a {type(item).__name__}; each "
                                "sample must be a list of input arrays (one per model input)")
    if len(item) != len(names):
        raise QuantizationError(f"calibration sample {index} has {len(item)} arrays, the model "
                                f"has {len(names)} inputs ({', '.join(names)})")
    return list(item)


def _checked(graph: Graph, name: str, value, index: int) -> np.ndarray:
    where = f"calibration sample {index}, input {name!r}"
    array = np.asarray(value)
    tensor = graph.tensors[name]
    if array.dtype.kind not in "fiu":
        raise QuantizationError(f"{where}: dtype {array.dtype} is not a real number type "
                                f"(the input is {tensor.dtype})")
    array = array.astype(tensor.dtype, copy=False)
    want = tensor.shape
    if array.ndim == len(want) - 1 and want and want[0] in (1, -1):
        array = array[None]  # one sample without its batch axis
    fits = array.ndim == len(want) and all(
        w < 0 or w == a or (i == 0 and w == 1) for i, (w, a) in enumerate(zip(want, array.shape)))
    if not fits or array.size == 0:
        raise QuantizationError(f"{where}: shape {tuple(array.shape)} does not fit the input's "
                                f"shape {list(want)}")
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        bad = "NaN" if np.isnan(array).any() else "Inf"
        raise QuantizationError(f"{where}: holds {bad} values; calibration data must be finite")
    return array


def _batches_safely(executor, graph: Graph, sample: list[np.ndarray]) -> bool:
    """Whether running two copies of ``sample`` stacked gives each copy's own results: the
    model treats axis 0 as a batch (no RESHAPE hard-coding batch 1, no op mixing samples)."""
    if not graph.inputs:
        return False
    single = {n: _run(executor, graph, sample)[n] for n in graph.outputs}
    try:
        double = _run(executor, graph, [np.concatenate([x, x]) for x in sample])
    except EdgeportError:
        return False
    for name in graph.outputs:
        one, two = single[name], double[name]
        if one.ndim == 0 or two.shape != (2 * one.shape[0], *one.shape[1:]):
            return False
        halves = two[:one.shape[0]], two[one.shape[0]:]
        if not all(np.allclose(h, one, rtol=1e-4, atol=1e-5, equal_nan=True) for h in halves):
            return False
    return True


def _run(executor, graph: Graph, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    executor.run(dict(zip(graph.inputs, inputs)))
    return executor.values


def _observe(executor, graph, observers, pending, bar) -> None:
    """Run one batch (the pending samples stacked) and update every observer."""
    inputs = [np.concatenate(parts) if len(parts) > 1 else parts[0] for parts in zip(*pending)]
    samples = inputs[0].shape[0] if inputs and inputs[0].ndim else 1
    values = _run(executor, graph, inputs)
    cells = cell_state_values(graph, values)
    for name, observer in observers.items():
        observer.update(cells[name] if name in cells else values[name], samples)
    bar.update(len(pending))


def _progress(dataset, enabled: bool):
    from ..progress import progress

    total = None
    try:
        total = len(dataset)
    except TypeError:
        pass
    return progress(total=total, desc="calibrating", unit="sample", enabled=enabled)


