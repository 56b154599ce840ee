"""Keras 3 on the jax backend is the oracle wherever a test builds or runs a Keras model."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
