"""Keras 3 on the jax backend builds the float models the quantization tests convert."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
