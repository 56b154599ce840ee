"""One exception hierarchy for everything edgeport refuses to do.

Every message names the file, the op or layer (by its origin) and, where there is one, what the
user can do about it. The CLI prints ``str(error)`` on one line and exits non-zero.
"""


class EdgeportError(Exception):
    """Base class of every error edgeport raises on purpose."""


class ModelFormatError(EdgeportError):
    """A model file is not what it claims to be: corrupt, truncated, or out of range."""


class UnsupportedOpError(EdgeportError):
    """A model uses ops that edgeport has no definition or kernel for."""


class UnsupportedLayerError(EdgeportError):
    """A Keras model uses layers (or layer options) that edgeport cannot convert."""


class QuantizationError(EdgeportError):
    """A model cannot be quantized as asked."""


class UnsupportedOptionError(EdgeportError):
    """An option is set to something edgeport does not do (yet), or edgeport has no such
    option: refused rather than silently ignored."""


class OutputError(EdgeportError):
    """An output path would delete or overwrite something edgeport did not write."""


class GraphError(EdgeportError):
    """A graph is inconsistent: dangling inputs, cycles, shape or dtype mismatches."""


class TensorError(EdgeportError, ValueError):
    """A tensor given by the user has the wrong shape or dtype, or the index is out of range.

    Also a ValueError, which is what tf.lite raises in the same places.
    """


class InterpreterStateError(EdgeportError, RuntimeError):
    """An Interpreter method was called out of order (e.g. invoke before allocate_tensors)."""
