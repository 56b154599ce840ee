"""The weight shards and weight quantization, against tensorflowjs_converter's rules."""

import json

import numpy as np
import pytest

from edgeport.errors import QuantizationError
from edgeport.export.tfjs.weights import (Weight, quantization_plan, quantize_array,
                                          read_weights, write_weights)


@pytest.mark.parametrize("dtype,qmax", [("uint8", 255), ("uint16", 65535)])
def test_affine_quantization_keeps_zero_and_bounds_the_error(dtype, qmax):
    x = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    x[::7] = 0.0
    stored, q = quantize_array(x, dtype)
    assert stored.dtype == (np.uint8 if dtype == "uint8" else np.uint16)
    assert q["scale"] == pytest.approx((x.max() - x.min()) / qmax)
    back = stored * np.float32(q["scale"]) + np.float32(q["min"])
    assert np.all(back[::7] == 0.0)  # zero is a grid point
    # the nudge of min moves the grid by < scale/2, rounding adds < scale/2
    assert np.max(np.abs(back - x)) <= q["scale"] * (1 + 1e-3)


def test_positive_tensors_and_constants_quantize():
    stored, q = quantize_array(np.array([2.0, 3.0, 4.0], np.float32), "uint8")
    assert q["min"] == 2.0 and stored[0] == 0 and stored[-1] == 255
    stored, q = quantize_array(np.full(4, 0.25, np.float32), "uint8")  # max == min
    assert np.all(stored * q["scale"] + q["min"] == 0.25)
    stored, q = quantize_array(np.array([1.0, 1e-4], np.float32), "float16")
    assert stored.dtype == np.float16 and q == {"dtype": "float16"}


def test_quantization_patterns_and_conflicts():
    names = ["conv1/kernel", "conv1/bias", "dense/kernel"]
    assert quantization_plan(names, "uint8") == dict.fromkeys(names, "uint8")
    assert quantization_plan(names, {"uint16": "*/kernel"}) == {
        "conv1/kernel": "uint16", "dense/kernel": "uint16"}
    assert quantization_plan(names, {"uint8": ["conv*"], "float16": ["dense/*"]}) == {
        "conv1/kernel": "uint8", "conv1/bias": "uint8", "dense/kernel": "float16"}
    with pytest.raises(QuantizationError, match="conv1/kernel"):
        quantization_plan(names, {"uint8": ["conv*"], "float16": ["*/kernel"]})
    with pytest.raises(QuantizationError, match="int4"):
        quantization_plan(names, "int4")


def test_shards_concatenate_in_manifest_order(tmp_path):
    rng = np.random.default_rng(1)
    weights = [Weight("a", rng.normal(size=(30, 7)).astype(np.float32)),
               Weight("b", np.arange(5, dtype=np.int64)),
               Weight("c", np.array([True, False, True])),
               Weight("d", rng.normal(size=(11,)).astype(np.float32))]
    manifest = write_weights(weights, tmp_path, shard_size=100)
    total = 30 * 7 * 4 + 5 * 4 + 3 + 11 * 4
    (group,) = manifest
    assert group["paths"] == [f"group1-shard{i}of{-(-total // 100)}.bin"
                              for i in range(1, -(-total // 100) + 1)]
    assert [w["dtype"] for w in group["weights"]] == ["float32", "int32", "bool", "float32"]
    sizes = [(tmp_path / p).stat().st_size for p in group["paths"]]
    assert sum(sizes) == total and set(sizes[:-1]) == {100}
    back = read_weights(json.loads(json.dumps(manifest)), tmp_path)
    for w in weights:
        np.testing.assert_array_equal(back[w.name], w.value)


def test_quantized_manifest_entries(tmp_path):
    w = np.linspace(-1, 3, 50, dtype=np.float32)
    manifest = write_weights([Weight("w", w), Weight("i", np.arange(3, dtype=np.int32))],
                             tmp_path, quantize="uint8")
    spec, ints = manifest[0]["weights"]
    assert spec["dtype"] == "float32" and spec["quantization"]["dtype"] == "uint8"
    assert "quantization" not in ints  # only float32 tensors are quantized
    assert (tmp_path / manifest[0]["paths"][0]).stat().st_size == 50 + 12
    back = read_weights(manifest, tmp_path)
    assert np.max(np.abs(back["w"] - w)) <= spec["quantization"]["scale"]
