"""`QATModel.fit`'s training: the jitted train step, the epoch loop, early stopping and the
history.

The step differentiates the fake-quantized forward pass through the straight-through
estimator and moves the trainable pytree {"weights", "ranges"} one Adam step (optimizer.py).
The ranges are trained parameters with ``learn_scales``; otherwise they stay out of the
gradient and follow an exponential moving average of each batch's observed min and max.
The step's state is ``(trainable, ranges, m, v, t)``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import QuantizationError
from ..progress import progress
from .data import batches
from .optimizer import adam_init, adam_update


def train_step(jax, forward, compute, learn_scales: bool, ema_constant: float):
    """One jitted step: (state, inputs, target, lr) -> (state, loss). ``forward`` is the
    plan's forward function, ``compute`` the loss (losses.py)."""

    def objective(trainable, ranges, inputs, target):
        params = trainable["weights"]
        ranges = trainable["ranges"] if learn_scales else ranges
        outputs, logits, observed = forward(params, ranges, inputs)
        return compute(outputs, logits, target), observed

    def step(state, inputs, target, lr):
        trainable, ranges, m, v, t = state
        (value, observed), grads = jax.value_and_grad(objective, has_aux=True)(
            trainable, ranges, inputs, target)
        trainable, m, v, t = adam_update(jax, trainable, grads, m, v, t, lr)
        if not learn_scales:
            ranges = {k: r + ema_constant * (observed[k] - r) for k, r in ranges.items()}
        return (trainable, ranges, m, v, t), value

    return jax.jit(step)


def initial_state(jax, params: dict, ranges: dict, learn_scales: bool):
    """The step's state at the start of a fit: the current weights (and ranges, when they are
    trained) with fresh Adam moments."""
    trainable = {"weights": params, "ranges": ranges if learn_scales else {}}
    m, v, t = adam_init(jax, trainable)
    return trainable, ranges, m, v, t


@dataclass
class Fit:
    """One call of fit: its jitted step, its (checked) data and its settings."""
    jax: Any
    step: Callable
    inputs: list[np.ndarray]
    target: np.ndarray
    epochs: int
    batch_size: int
    learning_rate: float
    shuffle: bool
    patience: int | None
    verbose: int


class EarlyStopping:
    """Keeps the state of the epoch with the lowest monitored loss, and says when
    ``patience`` epochs in a row brought no lower one (never, for ``patience=None``)."""

    def __init__(self, patience: int | None):
        self.patience, self.best, self.best_state, self.waited = patience, math.inf, None, 0

    def stop(self, monitored: float, state) -> bool:
        if monitored < self.best:
            self.best, self.best_state, self.waited = monitored, state, 0
            return False
        self.waited += 1
        return self.patience is not None and self.waited > self.patience

    def restored(self):
        """The state to end on: the best one when stopping early was asked for, else None
        (keep the last)."""
        return self.best_state if self.patience is not None else None


def validator(evaluate: Callable, val, batch_size: int, loss, distill: bool) -> Callable:
    """A function giving an epoch's {"val_…": value} from ``evaluate`` on ``val`` (fit's
    checked validation data: (inputs, targets or None), or None for none). Data for the
    other task than training's (labels vs distillation) is evaluated with its own default
    loss."""
    if val is None:
        return lambda: {}
    same_task = (val[1] is None) == distill

    def validate() -> dict[str, float]:
        return {f"val_{k}": v for k, v in evaluate(
            *val, batch_size=batch_size, loss=loss if same_task else "auto").items()}

    return validate


def train(fit: Fit, state, rng: np.random.Generator, adopt: Callable, validate: Callable,
          history: dict[str, list[float]]):
    """Run ``fit.epochs`` epochs from ``state``. After each, ``adopt(state)`` makes it the
    model's and returns its (params, ranges); ``validate()`` gives the {"val_…": value} to
    record beside the epoch's "loss" and "seconds" in ``history``. The validation loss (else
    the training loss) is monitored for early stopping. Returns the (params, ranges) to end
    on, or None to keep the last."""
    stopping = EarlyStopping(fit.patience)
    for epoch in range(fit.epochs):
        started = time.perf_counter()
        state, loss = _epoch(fit, state, rng, epoch)
        current = adopt(state)
        record = {"loss": loss, "seconds": time.perf_counter() - started}
        record.update(validate())
        _log(history, record, epoch, fit)
        if stopping.stop(record.get("val_loss", record["loss"]), current):
            break
    return stopping.restored()


def _epoch(fit: Fit, state, rng: np.random.Generator, epoch: int):
    """One pass over the batches: (state after it, mean loss per sample). A loss that is
    not finite raises QuantizationError."""
    jnp = fit.jax.numpy
    count = fit.inputs[0].shape[0]
    total, seen = 0.0, 0
    bar = progress(total=count, desc=f"epoch {epoch + 1}/{fit.epochs}", unit="sample",
                   enabled=bool(fit.verbose), leave=fit.verbose > 1,
                   summary=False)  # the epoch's own line follows
    for index in batches(rng, count, fit.batch_size, fit.shuffle):
        state, value = fit.step(state, [a[index] for a in fit.inputs], fit.target[index],
                                jnp.asarray(fit.learning_rate, jnp.float32))
        value = float(value)
        if not math.isfinite(value):
            raise QuantizationError(
                f"the training loss became {value} at epoch {epoch + 1}, sample {seen}: lower "
                f"the learning rate (now {fit.learning_rate}) or check the data; the model is "
                "left as it was before fit")
        total += value * len(index)
        seen += len(index)
        bar.update(len(index))
        bar.set_postfix(loss=f"{total / seen:.4f}")
    bar.close()
    return state, total / seen


def _log(history: dict[str, list[float]], record: dict[str, float], epoch: int,
         fit: Fit) -> None:
    """Append the epoch's ``record`` to ``history``; print it unless quiet."""
    for k, v in record.items():
        history.setdefault(k, []).append(v)
    if fit.verbose:
        print(f"epoch {epoch + 1}/{fit.epochs}: " + ", ".join(
            f"{k} {v:.4f}" for k, v in record.items()))
