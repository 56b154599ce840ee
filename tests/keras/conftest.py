"""Keras 3 on the jax backend is the oracle for the Keras frontend's tests."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
