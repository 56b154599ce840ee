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


def for_arrays(fn, *arrays):
    """``fn`` for ``arrays``: itself for NumPy arrays; for jax ones, a NumPy ufunc's namesake
    in jax.numpy (np.exp -> jnp.exp), or ``fn`` itself, written for both libraries."""
    if isinstance(fn, np.ufunc) and array_namespace(*arrays) is not np:
        import jax.numpy as jnp

        return getattr(jnp, fn.__name__)
    return fn


def numpy_out(x, out=None, fresh: bool = False) -> dict:
    """The keyword arguments that make a NumPy function write its result into ``out`` (an
    array the caller owns; with ``fresh``, a new array where ``out`` is None, 0-d results
    included), so that code written for both libraries still saves NumPy a pass over memory.
    None for jax arrays, which are immutable (jax.numpy's functions take no ``out``)."""
    if array_namespace(x) is not np:
        return {}
    if isinstance(out, np.ndarray):
        return {"out": out}
    return {"out": np.empty_like(x)} if fresh else {}


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
