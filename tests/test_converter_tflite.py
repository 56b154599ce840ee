"""TFLiteConverter.from_tflite: re-optimizing an existing float .tflite keeps it runnable, no
larger, and numerically the same model (judged by LiteRT on both files)."""

import numpy as np
import pytest

from edgeport.frontends.tflite import read_tflite
from edgeport.lite import TFLiteConverter
from tests.corpus import mediapipe_model
from tests.oracles.litert import run_litert

MODELS = ["face_detection_short_range", "face_detection_full_range_sparse", "hand_recrop"]


@pytest.mark.parametrize("name", MODELS)
def test_from_tflite_keeps_the_model(name):
    path = mediapipe_model(name)
    original = path.read_bytes()
    converted = TFLiteConverter.from_tflite(path).convert()
    before, after = read_tflite(original), read_tflite(converted)
    assert len(after.ops) <= len(before.ops)
    assert len(converted) <= len(original) * 1.01, "compressed weights were expanded"
    assert [op.type for op in after.ops].count("DEQUANTIZE") == \
        [op.type for op in before.ops].count("DEQUANTIZE")
    rng = np.random.default_rng(0)
    inputs = [rng.uniform(-1, 1, before.tensors[n].shape).astype(np.float32)
              for n in before.inputs]
    for want, got in zip(run_litert(original, inputs, reference=False),
                         run_litert(converted, inputs, reference=False)):
        scale = max(float(np.abs(want).max()), 1.0)
        np.testing.assert_allclose(got, want, atol=1e-4 * scale, rtol=0)
