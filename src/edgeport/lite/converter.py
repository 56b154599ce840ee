"""`TFLiteConverter`, mirroring ``tf.lite.TFLiteConverter``: Keras model (live or file) or an
existing float .tflite in, .tflite bytes out.

    converter = edgeport.lite.TFLiteConverter.from_keras_model(model)
    tflite_model = converter.convert()

The quantizing attributes (``optimizations``, ``representative_dataset``,
``target_spec.supported_types``, int8 ``supported_ops``, non-float inference types) are
accepted but not applied yet: `convert` raises QuantizationError rather than silently writing
a float model.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import QuantizationError


class Optimize(enum.Enum):
    """tf.lite.Optimize."""

    DEFAULT = "DEFAULT"
    OPTIMIZE_FOR_SIZE = "OPTIMIZE_FOR_SIZE"
    OPTIMIZE_FOR_LATENCY = "OPTIMIZE_FOR_LATENCY"
    EXPERIMENTAL_SPARSITY = "EXPERIMENTAL_SPARSITY"


class OpsSet(enum.Enum):
    """tf.lite.OpsSet."""

    TFLITE_BUILTINS = "TFLITE_BUILTINS"
    SELECT_TF_OPS = "SELECT_TF_OPS"
    TFLITE_BUILTINS_INT8 = "TFLITE_BUILTINS_INT8"
    EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 = \
        "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"


@dataclass
class TargetSpec:
    """tf.lite.TargetSpec: which op sets and weight types the target supports."""

    supported_ops: set = field(default_factory=lambda: {OpsSet.TFLITE_BUILTINS})
    supported_types: set = field(default_factory=set)


class TFLiteConverter:
    """Converts a Keras model or re-optimizes a float .tflite model; see the module doc."""

    def __init__(self, load, source: str):
        self._load, self._source = load, source
        self.optimizations: list = []
        self.representative_dataset = None
        self.target_spec = TargetSpec()
        self.inference_input_type = np.float32
        self.inference_output_type = np.float32
        self.allow_custom_ops = False

    @classmethod
    def from_keras_model(cls, model) -> "TFLiteConverter":
        """A live Keras 3 model (any backend); its config and weights are read at once."""
        from ..frontends.keras import load_keras, read_live_model

        keras_model = read_live_model(model)
        return cls(lambda: load_keras(keras_model), keras_model.source)

    @classmethod
    def from_keras_file(cls, path: str | os.PathLike) -> "TFLiteConverter":
        """A Keras 3 ``.keras`` archive or a Keras 2/3 ``.h5`` full-model file."""
        from ..frontends.keras import load_keras

        return cls(lambda: load_keras(path), os.fspath(path))

    @classmethod
    def from_tflite(cls, path: str | os.PathLike) -> "TFLiteConverter":
        """An existing float .tflite model, to re-optimize (and, later, quantize)."""
        from ..frontends.tflite import read_tflite

        return cls(lambda: read_tflite(path), os.fspath(path))

    def convert(self) -> bytes:
        """The .tflite bytes of the optimized float model. Raises UnsupportedLayerError /
        ModelFormatError for what cannot be read, QuantizationError for quantizing settings."""
        from ..export.tflite import write_tflite
        from ..passes import optimize

        self._refuse_quantization()
        graph = optimize(self._load())
        graph.validate()
        return write_tflite(graph)

    def _refuse_quantization(self) -> None:
        asked = []
        if self.optimizations:
            asked.append(f"optimizations={list(self.optimizations)}")
        if self.representative_dataset is not None:
            asked.append("representative_dataset")
        if self.target_spec.supported_types:
            asked.append(f"target_spec.supported_types={sorted(map(str, self.target_spec.supported_types))}")
        extra = {_ops_set(o) for o in self.target_spec.supported_ops} - {
            OpsSet.TFLITE_BUILTINS, OpsSet.SELECT_TF_OPS}
        if extra:
            asked.append(f"target_spec.supported_ops={sorted(o.name for o in extra)}")
        for attr in ("inference_input_type", "inference_output_type"):
            if np.dtype(getattr(self, attr)) != np.float32:
                asked.append(f"{attr}={np.dtype(getattr(self, attr)).name}")
        if asked:
            raise QuantizationError(
                f"{self._source}: quantization is not available yet in edgeport's converter "
                f"(asked for {', '.join(asked)}); unset these to write a float model")


def _ops_set(value) -> OpsSet:
    return value if isinstance(value, OpsSet) else OpsSet(getattr(value, "name", str(value)))
