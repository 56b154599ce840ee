"""Running a `QATModel`'s jitted forward pass for predictions and tensor dumps.

Both run at "highest" matmul precision: no TF32 on GPUs, so the fake-quant predictions compare
with the integer model's.
"""

from __future__ import annotations

import numpy as np

from .data import batches


def forward_outputs(jax, jit_forward, params: dict, ranges: dict, inputs: list[np.ndarray],
                    batch_size: int, quantize: bool) -> list[np.ndarray]:
    """Every output of the forward pass on ``inputs``, run ``batch_size`` samples at a time
    and concatenated along axis 0."""
    parts = []
    with jax.default_matmul_precision("highest"):
        for index in batches(None, inputs[0].shape[0], batch_size, shuffle=False):
            outputs, _, _ = jit_forward(params, ranges, [a[index] for a in inputs],
                                        quantize=quantize)
            parts.append([np.asarray(o) for o in outputs])
    return [np.concatenate(p) for p in zip(*parts)]


def forward_tensors(jax, jit_forward, params: dict, ranges: dict, inputs: list[np.ndarray],
                    quantize: bool, feed: dict | None) -> dict[str, np.ndarray]:
    """Every tensor of the forward pass on ``inputs`` (one batch); ``feed`` {tensor: value}
    replaces what the ops read."""
    with jax.default_matmul_precision("highest"):
        values, _, _ = jit_forward(params, ranges, inputs, quantize=quantize, keep=True,
                                   feed=feed)
    return {k: np.asarray(v) for k, v in values.items()}
