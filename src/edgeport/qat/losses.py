"""The losses `QATModel.fit` minimizes and `evaluate` reports, and how "auto" picks one.

A loss is ``compute(outputs, logits, target) -> scalar``: ``outputs`` are the model's outputs,
``logits`` the inputs of their SOFTMAX where an output is one (so that the log-probabilities
come from a log-softmax, not from the log of rounded probabilities), ``target`` labels, values
or, when distilling, the float model's outputs. All take the first output.
"""

from __future__ import annotations

import numpy as np

from ..errors import QuantizationError
from ..graph import Graph

LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "mse", "kl")
EPSILON = 1e-7  # keeps the logs of zero probabilities finite


def softmax_output(graph: Graph, name: str) -> bool:
    """Whether the graph output ``name`` is a SOFTMAX's (its logits are then available)."""
    return any(op.type == "SOFTMAX" and name in op.outputs for op in graph.ops)


def default_loss(distill: bool, target: np.ndarray, probabilities: bool) -> str:
    """The loss "auto" means: KL divergence when distilling a softmax (or 2-D) output, mean
    squared error for other outputs; sparse cross-entropy for 1-D integer labels."""
    if distill:
        return "kl" if probabilities or target.ndim == 2 else "mse"
    if target.dtype.kind in "iub" and target.ndim == 1:
        return "sparse_categorical_crossentropy"
    return "mse"


def loss_function(jax, loss, probabilities: bool):
    """``compute(outputs, logits, target)`` for ``loss``: one of LOSSES, or a callable
    ``(prediction, target) -> scalar`` on the first output. ``probabilities``: the first output
    is a SOFTMAX's."""
    jnp = jax.numpy
    if callable(loss):
        return lambda outputs, logits, target: loss(outputs[0], target)
    if loss not in LOSSES:
        raise QuantizationError(f"loss {loss!r}: use one of {', '.join(LOSSES)} or a "
                                "callable(prediction, target)")

    def log_probs(outputs, logits):
        if probabilities:
            return jax.nn.log_softmax(logits[0], axis=-1)
        return jax.nn.log_softmax(outputs[0], axis=-1)

    def compute(outputs, logits, target):
        if loss == "mse":
            return jnp.mean((outputs[0] - target) ** 2)
        if loss == "kl":
            teacher = target if probabilities else jax.nn.softmax(target, axis=-1)
            return jnp.mean(jnp.sum(teacher * (jnp.log(teacher + EPSILON)
                                               - log_probs(outputs, logits)), axis=-1))
        if loss == "categorical_crossentropy":
            return -jnp.mean(jnp.sum(target * log_probs(outputs, logits), axis=-1))
        labels = target.astype(jnp.int32).reshape(-1)
        picked = jnp.take_along_axis(log_probs(outputs, logits), labels[:, None], axis=-1)
        return -jnp.mean(picked)

    return compute


def evaluation(jax, compute, prediction: np.ndarray, target: np.ndarray,
               probabilities: bool, distill: bool) -> dict[str, float]:
    """{"loss"} of ``prediction`` (the first output, computed) against ``target``, and
    "accuracy" for a 2-D prediction: top-1 against class labels, or against the float
    model's top-1 when distilling. A softmax output's logits are recovered as its logs."""
    jnp = jax.numpy
    logits = [jnp.log(jnp.maximum(prediction, EPSILON))] if probabilities else [None]
    result = {"loss": float(compute([jnp.asarray(prediction)], logits, jnp.asarray(target)))}
    if prediction.ndim == 2:
        labels = target.argmax(-1) if distill or target.ndim == 2 else target.reshape(-1)
        result["accuracy"] = float(np.mean(prediction.argmax(-1) == labels))
    return result
