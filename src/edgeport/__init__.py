"""edgeport: take a trained neural network out of the lab, in Python on NumPy.

Reads models (Keras .keras and .h5 files without Keras, live keras.Model objects, .tflite
files), quantizes them, runs them in a NumPy reference interpreter (or on jax, GPUs and several
devices), and writes standard .tflite files and TF.js bundles. The API mirrors TensorFlow's
where the two overlap, so that ``import edgeport as tf`` runs ``tf.lite.Interpreter(...)`` code
unchanged; ``tf.float16``, ``tf.int8`` and TensorFlow's other dtype names are NumPy dtypes.

Submodules load on first use, so ``import edgeport`` stays fast and light.
"""

import importlib

from .errors import (EdgeportError, GraphError, InterpreterStateError, ModelFormatError,
                     OutputError, QuantizationError, TensorError, UnsupportedLayerError,
                     UnsupportedOpError, UnsupportedOptionError)

__version__ = "0.1.0"

_LAZY_SUBMODULES = ("lite", "config", "test", "debugging", "qat")
# TensorFlow's dtype names, as the NumPy dtypes they stand for (tf.float16 -> float16).
DTYPE_NAMES = ("float16", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32",
               "uint32", "int64", "uint64", "bool")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in DTYPE_NAMES:
        import numpy

        return numpy.dtype(name)
    raise AttributeError(f"module 'edgeport' has no attribute {name!r}")


def device(name):
    """``with edgeport.device("/GPU:1"):`` places the ops of models loaded for the jax backend
    inside the block on that device (tf.device)."""
    from .runtime.placement import device as _device

    return _device(name)


def load_tflite(path):
    """Read a .tflite file into edgeport's graph IR (`edgeport.graph.Graph`)."""
    from .frontends.tflite import read_tflite

    return read_tflite(path)


def save_tflite(graph, path):
    """Write a graph as a .tflite file, atomically; returns the number of bytes written."""
    from .export.tflite import save_tflite as _save

    return _save(graph, path)


__all__ = ["EdgeportError", "GraphError", "InterpreterStateError", "ModelFormatError",
           "OutputError", "QuantizationError", "TensorError", "UnsupportedLayerError",
           "UnsupportedOpError", "UnsupportedOptionError",
           "load_tflite", "save_tflite", "lite", "config", "test", "debugging", "device", "qat",
           "__version__", *DTYPE_NAMES]
