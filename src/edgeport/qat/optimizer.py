"""Adam (Kingma and Ba, 2015) on jax pytrees, for `QATModel.fit`.

Written out rather than taken from optax: this is the paper's "efficient" form, which folds
the bias corrections into the step size and adds epsilon to ``sqrt(v)`` before correction,

    p <- p - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)

whereas ``optax.adam`` adds epsilon after correcting ``v``. The two differ in the last bits
from the first steps on (about 3e-5 apart after 200 steps of a small problem), so optax would
change every trained model; these twenty lines also keep the jax extra free of another
dependency. The update runs inside the jitted train step.
"""

from __future__ import annotations

B1, B2, EPS = 0.9, 0.999, 1e-8


def adam_init(jax, trainable):
    """The optimizer state (m, v, t) for the pytree ``trainable``: zero moments, step 0."""
    jnp = jax.numpy
    zeros = jax.tree_util.tree_map(jnp.zeros_like, trainable)
    return zeros, zeros, jnp.asarray(0.0, jnp.float32)


def adam_update(jax, trainable, grads, m, v, t, lr):
    """One Adam step of ``trainable`` along ``grads``: (trainable, m, v, t) after it."""
    jnp, tree_map = jax.numpy, jax.tree_util.tree_map
    t = t + 1
    m = tree_map(lambda a, g: B1 * a + (1 - B1) * g, m, grads)
    v = tree_map(lambda a, g: B2 * a + (1 - B2) * g * g, v, grads)
    correction = jnp.sqrt(1 - B2 ** t) / (1 - B1 ** t)
    trainable = tree_map(lambda p, a, b: p - lr * correction * a / (jnp.sqrt(b) + EPS),
                         trainable, m, v)
    return trainable, m, v, t
