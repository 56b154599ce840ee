"""The Keras frontend: .keras archives, legacy .h5 files and live keras.Model objects to the
IR graph, without TensorFlow (and without Keras, except for a live model)."""

from __future__ import annotations

import os

from ...graph import Graph
from .archive import KerasModel, read_keras_file, read_live_model
from .topology import build_graph


def load_keras(source) -> Graph:
    """A path to a .keras/.h5 file, a `KerasModel`, or a live keras.Model -> unoptimized IR."""
    if isinstance(source, KerasModel):
        model = source
    elif isinstance(source, (str, os.PathLike)):
        model = read_keras_file(source)
    else:
        model = read_live_model(source)
    return build_graph(model)


__all__ = ["KerasModel", "build_graph", "load_keras", "read_keras_file", "read_live_model"]
