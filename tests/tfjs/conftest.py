"""Keras 3 on the jax backend builds the Keras test models and gives reference predictions."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
