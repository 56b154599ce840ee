"""Code written once for NumPy and jax arrays.

edgeport's integer kernels, and many of its float kernels, take NumPy arrays when the NumPy
interpreter runs them and jax arrays (tracers) when the jax backend traces them, so that both
backends compute the same thing from one definition. Such code asks `array_namespace` for the
library of its inputs.

XLA changes the rounding of two float patterns, which integer kernels therefore avoid: a
division by a broadcast value becomes a multiplication by its reciprocal (`divide_as_c` keeps
the division), and a product followed by a sum becomes one fused multiply-add, rounded once
where C++ rounds twice (an optimization barrier does not stop that; the kernels round a product
directly, or tabulate what they compute from one 8-bit value).
"""

from __future__ import annotations

import numpy as np


def array_namespace(*arrays):
    """The library of ``arrays``: jax.numpy when one of them is a jax array (or a tracer of
    one), else NumPy."""
    for array in arrays:
        if not isinstance(array, (np.ndarray, np.generic)) and \
                hasattr(array, "__array_namespace__"):
            return array.__array_namespace__()
    return np


def jax_form(fn):
    """``fn`` for jax arrays: a NumPy ufunc's namesake in jax.numpy (np.exp -> jnp.exp), or
    ``fn`` itself, written for both libraries."""
    if isinstance(fn, np.ufunc):
        import jax.numpy as jnp

        return getattr(jnp, fn.__name__)
    return fn


def divide_as_c(x, divisor):
    """``x / divisor`` as C++ divides: one IEEE division, even where XLA would multiply by the
    reciprocal (which puts 2% of QUANTIZE's exact-half inputs one step off). The divisor goes
    through an optimization barrier, which XLA's rewrite cannot see through."""
    xp = array_namespace(x, divisor)
    if xp is np:
        return x / divisor
    from jax import lax

    divisor = xp.asarray(divisor)
    shape = np.broadcast_shapes(x.shape, divisor.shape)
    return x / lax.optimization_barrier(xp.broadcast_to(divisor, shape))
