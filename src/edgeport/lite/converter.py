"""`TFLiteConverter`, mirroring ``tf.lite.TFLiteConverter``: Keras model (live or file) or an
existing float .tflite in, .tflite bytes out.

    converter = edgeport.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [edgeport.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in samples)
    tflite_model = converter.convert()

What the quantizing attributes ask for, as in tf.lite:
- ``optimizations`` (any Optimize value) without a dataset: weights-only int8;
- ``target_spec.supported_types = [float16]``: float16 weights;
- ``representative_dataset``: full-integer int8, calibrated on the data (a dataset alone asks
  for it too: edgeport does not silently drop data it was given); with
  ``target_spec.supported_ops = [OpsSet.TFLITE_BUILTINS_INT8]`` every op must be integer,
  otherwise ops without an int8 kernel stay float; ``inference_input_type`` /
  ``inference_output_type`` float32 (the default), int8 or uint8 (numpy or tf dtypes).
Beyond tf.lite: ``calibration_method`` ("minmax", "moving_average", "percentile[:99.99]",
"entropy", "mse"), ``calibration_per_tensor`` ({tensor or layer name: method}),
``calibration_batch_size``, ``calibration_progress``, ``per_channel`` (False: per-tensor
weights everywhere), ``denylisted_ops`` / ``denylisted_nodes`` (op types / Keras layer names
that stay float), and tf's ``_experimental_disable_per_channel_quantization_for_dense_layers``
(per-tensor FULLY_CONNECTED weights, for TFLite Micro). `convert` returns bytes and writes
nothing, so a failure (QuantizationError naming the tensor or layer) leaves no file behind.

An option edgeport does not honour is refused, never ignored (UnsupportedOptionError): an
attribute it does not have, 16-bit activations (EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_
WEIGHTS_INT8, not yet), Optimize.EXPERIMENTAL_SPARSITY, ``experimental_new_converter`` or
``experimental_new_quantizer`` set to False. ``allow_custom_ops`` is honoured as in tf.lite: a
model with custom ops converts only with it set. ``from_saved_model`` and
``from_concrete_functions`` raise ModelFormatError: they need TensorFlow.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import (ModelFormatError, QuantizationError, UnsupportedOpError,
                      UnsupportedOptionError)


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


class ClosedOptions:
    """Attribute assignment that refuses options the class does not have: a misspelt or
    unimplemented tf.lite option (``converter.experimental_foo = ...``) is an
    UnsupportedOptionError at the line that sets it, not a setting silently ignored."""

    def __setattr__(self, name, value):
        if getattr(self, "_closed", False) and not hasattr(self, name):
            options = ", ".join(sorted(k for k in vars(self) if not k.startswith("_")))
            raise UnsupportedOptionError(f"{type(self).__name__} has no option {name!r} in "
                                         f"edgeport (its options: {options})")
        super().__setattr__(name, value)


@dataclass
class TargetSpec(ClosedOptions):
    """tf.lite.TargetSpec: which op sets and weight types the target supports."""

    supported_ops: set = field(default_factory=lambda: {OpsSet.TFLITE_BUILTINS})
    supported_types: set = field(default_factory=set)
    experimental_select_user_tf_ops: list = field(default_factory=list)

    def __post_init__(self):
        self._closed = True


class TFLiteConverter(ClosedOptions):
    """Converts a Keras model or re-optimizes a float .tflite model; see the module doc."""

    def __init__(self, load, source: str):
        self._load, self._source = load, source
        self.optimizations: list = []
        self.representative_dataset = None
        self.target_spec = TargetSpec()
        self.inference_input_type = np.float32
        self.inference_output_type = np.float32
        self.allow_custom_ops = False
        self.calibration_method = "minmax"
        self.calibration_per_tensor: dict = {}
        # Small batches keep im2col buffers in cache: on MobileNetV2 (224x224, 2 cores),
        # batches of 2-4 calibrate in 2.0-2.5 s, of 8 in 2.8 s, of 32 in 7 s (bench/bench_ptq.py).
        self.calibration_batch_size = 4
        self.calibration_progress = True
        self.per_channel = True
        self.denylisted_ops: list[str] = []
        self.denylisted_nodes: list[str] = []
        self._experimental_disable_per_channel_quantization_for_dense_layers = False
        # tf.lite options whose only setting in edgeport is the default (see `_check_options`).
        self.experimental_new_converter = True
        self.experimental_new_quantizer = True
        self._closed = True

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
    def from_saved_model(cls, saved_model_dir, signature_keys=None, tags=None):
        """Refused: a SavedModel is TensorFlow's own format, and reading it needs TensorFlow."""
        raise ModelFormatError(f"{saved_model_dir}: a TensorFlow SavedModel needs TensorFlow to "
                               "read; edgeport reads .keras, .h5 and .tflite files (save the "
                               "model with model.save('model.keras'), or convert it with "
                               "TensorFlow's own tf.lite.TFLiteConverter)")

    @classmethod
    def from_concrete_functions(cls, funcs, trackable_obj=None):
        """Refused: concrete functions are TensorFlow graphs, which need TensorFlow."""
        raise ModelFormatError("TFLiteConverter.from_concrete_functions: a tf.function is a "
                               "TensorFlow graph, and reading it needs TensorFlow; edgeport "
                               "reads live Keras models (from_keras_model) and .keras, .h5 and "
                               ".tflite files")

    @classmethod
    def from_tflite(cls, path: str | os.PathLike) -> "TFLiteConverter":
        """An existing float .tflite model, to re-optimize (and, later, quantize)."""
        from ..frontends.tflite import read_tflite

        return cls(lambda: read_tflite(path), os.fspath(path))

    def convert(self) -> bytes:
        """The .tflite bytes of the optimized, and if asked quantized, model. Raises
        UnsupportedLayerError / ModelFormatError for what cannot be read, QuantizationError
        for what cannot be quantized as asked."""
        from ..export.tflite import write_tflite
        from ..passes import optimize
        from ..shapes import validate

        self._check_options()
        mode = self._quantization_mode()
        graph = optimize(self._load())
        self._check_custom_ops(graph)
        try:
            if mode is not None:
                graph = self._quantize(graph, mode)
            validate(graph)  # runs every op's prepare: an integer kernel may refuse a scale
        except QuantizationError as exc:
            raise QuantizationError(f"{self._source}: {exc}") from None
        return write_tflite(graph)

    def _check_custom_ops(self, graph) -> None:
        """tf.lite's rule: a model with custom ops converts only with allow_custom_ops."""
        if self.allow_custom_ops:
            return
        custom = sorted({op.type[len("CUSTOM:"):] for g in graph.all_graphs()
                         for op in g.ops if op.type.startswith("CUSTOM:")})
        if custom:
            raise UnsupportedOpError(f"{self._source}: the model has custom ops "
                                     f"({', '.join(custom)}), which only run where they are "
                                     "registered; set converter.allow_custom_ops = True "
                                     "(edgeport convert --allow-custom-ops) to keep them")

    def _check_options(self) -> None:
        """UnsupportedOptionError for an option set to something edgeport does not do."""
        ops_sets = {_ops_set(o) for o in self.target_spec.supported_ops}
        if OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 in ops_sets:
            raise UnsupportedOptionError(
                f"{self._source}: 16-bit activations with int8 weights (OpsSet.EXPERIMENTAL_"
                "TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8) are not implemented in "
                "edgeport yet; use TFLITE_BUILTINS_INT8 for an int8 model")
        types = {_numpy_dtype(t, "target_spec.supported_types")
                 for t in self.target_spec.supported_types}
        unknown = types - {np.dtype(np.float16), np.dtype(np.int8), np.dtype(np.float32)}
        if unknown:
            raise UnsupportedOptionError(
                f"{self._source}: target_spec.supported_types "
                f"{sorted(t.name for t in unknown)} are not supported (float16 weights, or int8)")
        if self.target_spec.experimental_select_user_tf_ops:
            raise UnsupportedOptionError(f"{self._source}: target_spec.experimental_select_user_"
                                         "tf_ops: edgeport writes TFLite builtin ops only")
        if any(getattr(o, "name", o) == "EXPERIMENTAL_SPARSITY" for o in self.optimizations):
            raise UnsupportedOptionError(f"{self._source}: Optimize.EXPERIMENTAL_SPARSITY (sparse "
                                         "weight encoding) is not implemented in edgeport")
        for option in ("experimental_new_converter", "experimental_new_quantizer"):
            if getattr(self, option) is not True:
                raise UnsupportedOptionError(f"{self._source}: {option}={getattr(self, option)!r}"
                                             ": edgeport has one converter and one quantizer "
                                             "(the new ones); leave it True")

    def _quantization_mode(self) -> str | None:
        """"int8", "float16", "dynamic" or None, from the attributes (checked for conflicts)."""
        types = {_numpy_dtype(t, "target_spec.supported_types")
                 for t in self.target_spec.supported_types}
        int8_only = (OpsSet.TFLITE_BUILTINS_INT8 in {_ops_set(o) for o in
                                                     self.target_spec.supported_ops}
                     or np.dtype(np.int8) in types)
        io = {attr: _numpy_dtype(getattr(self, attr), attr)
              for attr in ("inference_input_type", "inference_output_type")}
        for attr, dtype in io.items():
            if dtype not in IO_TYPES:
                raise QuantizationError(f"{self._source}: {attr}={dtype.name} is not supported "
                                        "(float32, int8 or uint8)")
        integer_io = [f"{a}={d.name}" for a, d in io.items() if d != np.float32]
        if self.representative_dataset is not None and np.dtype(np.float16) not in types:
            return "int8"
        if int8_only or integer_io:
            asked = "target_spec.supported_ops=[TFLITE_BUILTINS_INT8]" if int8_only else \
                ", ".join(integer_io)
            raise QuantizationError(f"{self._source}: {asked} needs full-integer quantization: "
                                    "set converter.representative_dataset to calibration data")
        if np.dtype(np.float16) in types:
            return "float16"
        return "dynamic" if self.optimizations else None

    def _quantize(self, graph, mode: str):
        from ..quantize import (Int8Options, calibrate, prepare_float, quantize_float16,
                                quantize_int8, quantize_weights)

        prepare_float(graph)
        deny = dict(denylisted_ops=frozenset(self.denylisted_ops),
                    denylisted_nodes=frozenset(self.denylisted_nodes))
        per_channel_dense = (self.per_channel and not
                             self._experimental_disable_per_channel_quantization_for_dense_layers)
        if mode == "float16":
            return quantize_float16(graph, **deny)
        if mode == "dynamic":
            return quantize_weights(graph, per_channel=self.per_channel,
                                    per_channel_dense=per_channel_dense, **deny)
        ranges = calibrate(graph, self.representative_dataset, method=self.calibration_method,
                           per_tensor=self.calibration_per_tensor,
                           batch_size=self.calibration_batch_size,
                           progress=self.calibration_progress)
        ops_sets = {_ops_set(o) for o in self.target_spec.supported_ops}
        options = Int8Options(
            per_channel=self.per_channel, per_channel_dense=per_channel_dense,
            input_type=_numpy_dtype(self.inference_input_type, "inference_input_type"),
            output_type=_numpy_dtype(self.inference_output_type, "inference_output_type"),
            integer_only=(OpsSet.TFLITE_BUILTINS_INT8 in ops_sets
                          and OpsSet.TFLITE_BUILTINS not in ops_sets), **deny)
        return quantize_int8(graph, ranges, options)


IO_TYPES = (np.dtype(np.float32), np.dtype(np.int8), np.dtype(np.uint8))


def _numpy_dtype(value, what: str) -> np.dtype:
    """A numpy dtype from a numpy type, a tf.DType (its ``as_numpy_dtype``) or a name."""
    try:
        return np.dtype(getattr(value, "as_numpy_dtype", value))
    except TypeError:
        raise QuantizationError(f"{what}: {value!r} is not a dtype") from None


def _ops_set(value) -> OpsSet:
    return value if isinstance(value, OpsSet) else OpsSet(getattr(value, "name", str(value)))
