"""Convert Keras models with quantization settings and compare LiteRT with edgeport."""

from __future__ import annotations

import numpy as np

from edgeport.lite import Optimize, TFLiteConverter
from tests.oracles.litert import run_edgeport, run_edgeport_jax, run_litert


def quantized(model, mode="int8", dataset=None, **attrs) -> bytes:
    """``model`` converted with ``mode`` (int8 with ``dataset``, dynamic, float16) and extra
    converter attributes."""
    converter = TFLiteConverter.from_keras_model(model)
    converter.optimizations = [Optimize.DEFAULT]
    converter.calibration_progress = False
    if mode == "int8":
        converter.representative_dataset = dataset
    elif mode == "float16":
        converter.target_spec.supported_types = [np.float16]
    for name, value in attrs.items():
        setattr(converter, name, value)
    return converter.convert()


def float_model(model) -> bytes:
    return TFLiteConverter.from_keras_model(model).convert()


def assert_bit_exact(model_bytes: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """LiteRT (reference kernels), edgeport and edgeport's jax backend give identical
    outputs."""
    want = run_litert(model_bytes, inputs, reference=True)
    for runtime, got in (("edgeport", run_edgeport(model_bytes, inputs)),
                         ("edgeport's jax backend", run_edgeport_jax(model_bytes, inputs)[0])):
        assert len(want) == len(got)
        for w, g in zip(want, got):
            assert g.dtype == w.dtype and g.shape == w.shape
            mismatched = int(np.sum(w != g))
            assert mismatched == 0, f"{runtime}: {mismatched} of {w.size} values differ"
    return want
