"""Fake quantization in jax: float functions whose values are exactly what the int8 model
computes with (rules.py's parameters), and whose gradients follow the straight-through
estimator (STE: rounding passes the gradient unchanged, clipping stops it outside the range).

- `fake_quant_range`: an asymmetric per-tensor activation on the grid of
  ``rules.activation_params(*observers.quantization_range(lo, hi))`` (range widened to hold
  0 and, when narrower than 1e-6, by 1e-6 each side; zero point nudged to an integer). Written as ``lo_n + clip(round((x - lo_n) / s), 0, 255) * s`` with the nudged
  ``lo_n``, so that a value below the range has d/d lo = 1 and one above d/d hi = 1 (TF's
  FakeQuantWithMinMaxVars gradients), and values inside give LSQ's rounding-error gradient:
  learned ranges train with the same function.
- `fake_quant_fixed`: the spec's fixed parameters (SOFTMAX 1/256, -128 ...).
- `fake_quant_weights`: symmetric int8 in [-127, 127], per channel or per tensor, the scale
  ``max|w| / 127`` of the current weights (not differentiated, as TF's last-value quantizer).
- `fake_quant_bias`: the int32 bias at ``s_in * s_w``.
"""

from __future__ import annotations

from ..quantize.observers import NEAR_ZERO_TOLERANCE

LEVELS = 255.0


def round_half_away(v):
    """TfLiteRound (std::round) in jax: halves away from zero, as rules.py's quantizer."""
    import jax.numpy as jnp

    whole = jnp.trunc(v)
    return whole + jnp.where(jnp.abs(v - whole) >= 0.5, jnp.sign(v), 0.0)


def ste_round(v):
    """Rounds in the forward pass; the identity for gradients."""
    import jax

    return v + jax.lax.stop_gradient(round_half_away(v) - v)


def activation_grid(lo, hi):
    """(scale, zero point) of ``rules.activation_params(*quantization_range(lo, hi))``, the
    grid the int8 export puts [lo, hi] on, as jax scalars; the zero point is rounded with the
    STE so that the nudged range still carries lo's gradient."""
    import jax.numpy as jnp

    lo, hi = jnp.minimum(lo, 0.0), jnp.maximum(hi, 0.0)
    narrow = (hi - lo) < NEAR_ZERO_TOLERANCE  # widened as observers.quantization_range
    lo = jnp.where(narrow, lo - NEAR_ZERO_TOLERANCE, lo)
    hi = jnp.where(narrow, hi + NEAR_ZERO_TOLERANCE, hi)
    scale = jnp.maximum((hi - lo) / LEVELS, 1e-9)
    zero = jnp.clip(ste_round(-128.0 - lo / scale), -128.0, 127.0)
    return scale, zero


def fake_quant_range(x, lo, hi):
    """``x`` on the int8 grid of the range [lo, hi] (see the module doc)."""
    import jax.numpy as jnp

    scale, zero = activation_grid(lo, hi)
    low = (-128.0 - zero) * scale  # the nudged lower end, exactly representable
    return low + jnp.clip(ste_round((x - low) / scale), 0.0, LEVELS) * scale


def fake_quant_fixed(x, scale: float, zero: int):
    """``x`` on a fixed grid (the spec's SOFTMAX/LOGISTIC/TANH outputs)."""
    import jax.numpy as jnp

    q = jnp.clip(ste_round(x / scale) + zero, -128.0, 127.0)
    return (q - zero) * scale


def weight_scale(w, axis: int | None):
    """``max|w| / 127`` per ``axis`` slice (per tensor when None), shaped to broadcast
    against ``w``; 1 where a slice is all zero (rules.symmetric_weights)."""
    import jax
    import jax.numpy as jnp

    w = jax.lax.stop_gradient(w)
    if axis is None:
        amax = jnp.max(jnp.abs(w)).reshape((1,) * w.ndim)
    else:
        others = tuple(a for a in range(w.ndim) if a != axis % w.ndim)
        amax = jnp.max(jnp.abs(w), axis=others, keepdims=True)
    return jnp.where(amax > 0, amax / 127.0, 1.0)


def fake_quant_weights(w, axis: int | None):
    """(fake-quantized weights, their scale shaped like ``weight_scale``)."""
    import jax.numpy as jnp

    scale = weight_scale(w, axis)
    return jnp.clip(ste_round(w / scale), -127.0, 127.0) * scale, scale


def fake_quant_bias(b, in_scale, w_scale):
    """The bias on the int32 grid ``s_in * s_w[c]`` (``w_scale`` flattened per channel)."""
    import jax

    scale = jax.lax.stop_gradient(in_scale * w_scale.reshape(-1))
    return ste_round(b / scale) * scale
