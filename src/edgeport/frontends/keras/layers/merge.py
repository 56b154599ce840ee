"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot."""

from __future__ import annotations

import numpy as np

from . import keras_layer

CHAINS = {"Add": "ADD", "Multiply": "MUL", "Maximum": "MAXIMUM", "Minimum": "MINIMUM",
          "Average": "ADD"}


@keras_layer(*CHAINS, inputs=None)
def chain(b, cfg, inputs):
    """A left fold of the binary op over the inputs (Average: the sum times 1/n)."""
    out = inputs[0]
    for other in inputs[1:]:
        out = b.op(CHAINS[b.class_name], [out, other])
    if b.class_name == "Average":
        out = b.op("MUL", [out, b.const(1.0 / len(inputs))])
    return out


@keras_layer("Subtract", inputs=2)
def subtract(b, cfg, inputs):
    return b.op("SUB", inputs)


@keras_layer("Concatenate", inputs=None)
def concatenate(b, cfg, inputs):
    rank = b.rank(inputs[0])
    return b.op("CONCATENATION", inputs,
                {"axis": cfg.int("axis", -1, minimum=-rank, maximum=rank - 1) % rank})


@keras_layer("Dot", inputs=2)
def dot(b, cfg, inputs):
    """Keras's batch_dot: two [N, K] vectors -> SUM(x * y) as [N, 1]; two rank-3 tensors ->
    BATCH_MATMUL, contracting axes 1 or 2 of each (adj_x / adj_y transpose them into place).
    normalize=True first scales each input to unit L2 norm along its contracted axis."""
    x, y = inputs
    rank = b.rank(x)
    axes = cfg.axes("axes", rank, -1)
    if len(axes) not in (1, 2):
        raise cfg.error("axes", "an axis or a list of two")
    if len(axes) == 1:
        axes = axes * 2
    if rank != b.rank(y) or rank not in (2, 3) or 0 in axes:
        raise b.unsupported(f"Dot of rank {rank} and {b.rank(y)} inputs over axes {axes} "
                            "(only rank 2 or 3, non-batch axes)")
    if cfg.bool("normalize", False):
        x, y = (l2_normalize(b, t, axis) for t, axis in ((x, axes[0]), (y, axes[1])))
    if rank == 2:
        return b.op("SUM", [b.op("MUL", [x, y]), b.const([1], np.int32, "axis")],
                    {"keep_dims": True})
    return b.op("BATCH_MATMUL", [x, y], {"adj_x": axes[0] == 1, "adj_y": axes[1] == 2})


def l2_normalize(b, x, axis) -> str:
    """x / sqrt(max(sum(x^2), 1e-12)) along ``axis``, as keras.ops.normalize."""
    squares = b.op("SUM", [b.op("MUL", [x, x]), b.const([axis], np.int32, "axis")],
                   {"keep_dims": True})
    return b.op("MUL", [x, b.op("RSQRT", [b.op("MAXIMUM", [squares, b.const(1e-12)])])])
