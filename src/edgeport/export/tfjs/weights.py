"""TF.js weight files: the ``weightsManifest`` and its ``groupN-shardMofK.bin`` shards.

Laid out as tensorflowjs_converter's write_weights.py does: every tensor of a group is written
raw, C order, little-endian, in manifest order, with no padding; the concatenation is cut into
``shard_size`` pieces (a tensor may straddle two shards), named ``group1-shard1of2.bin``... The
loader (tfjs-core io/weights_loader.ts) concatenates a group's paths in order and slices each
tensor by shape x element size.

Quantization follows tensorflowjs/quantization.py: only float32 tensors are quantized; uint8 and
uint16 are affine (``q = round((clip(x, min, max) - min) / scale)``, ``scale = (max - min) /
qmax``, with ``min`` nudged so that 0.0 is exactly representable when ``min <= 0 <= max``);
float16 is a plain cast. The manifest keeps the original dtype and records the stored one in
``quantization``; tfjs dequantizes at load (``q * scale + min``), so quantization shrinks the
download, not the compute.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ...errors import QuantizationError

DEFAULT_SHARD_SIZE = 4 << 20  # tensorflowjs_converter's default, 1024 * 1024 * 4
QUANTIZATION_DTYPES = ("uint8", "uint16", "float16")

# manifest dtype names and the little-endian storage dtype of each
_STORED = {"float32": "<f4", "int32": "<i4", "bool": "|u1"}


@dataclass
class Weight:
    """One named array to store; ``name`` is what model.json refers to."""

    name: str
    value: np.ndarray


def manifest_dtype(dtype: np.dtype) -> str:
    """The TF.js dtype a NumPy array is stored as (TF.js has no int64/float64: narrowed)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return "bool"
    if dtype.kind in "iu":
        return "int32"
    if dtype.kind == "f":
        return "float32"
    raise QuantizationError(f"TF.js cannot store a {dtype} tensor")


def quantization_plan(names: Sequence[str], quantize) -> dict[str, str]:
    """Which weights are quantized to which dtype.

    ``quantize`` is None (nothing), a dtype (``"uint8"``: every weight), or a mapping dtype ->
    fnmatch patterns (``{"uint8": ["conv*/kernel"], "float16": ["*"]}``, or a comma-separated
    string of patterns), as the converter's ``--quantize_uint8 [names]`` flags. A weight matched
    by two dtypes is an error, as in the converter.
    """
    if quantize is None:
        return {}
    if isinstance(quantize, str):
        quantize = {quantize: ["*"]}
    plan: dict[str, str] = {}
    for dtype, patterns in dict(quantize).items():
        if dtype not in QUANTIZATION_DTYPES:
            raise QuantizationError(f"unknown TF.js weight quantization {dtype!r}; use one of "
                                    f"{', '.join(QUANTIZATION_DTYPES)}")
        if patterns is None:
            patterns = ["*"]
        elif isinstance(patterns, str):
            patterns = [p.strip() for p in patterns.split(",") if p.strip()] or ["*"]
        for name in names:
            if any(fnmatch.fnmatchcase(name, p) for p in patterns):
                if name in plan and plan[name] != dtype:
                    raise QuantizationError(f"weight {name!r} matches both {plan[name]} and "
                                            f"{dtype} quantization patterns")
                plan[name] = dtype
    return plan


def quantize_array(value: np.ndarray, dtype: str) -> tuple[np.ndarray, dict]:
    """``value`` (float32) stored as ``dtype``, and the manifest's ``quantization`` entry."""
    value = np.asarray(value, np.float32)
    if dtype == "float16":
        return value.astype("<f2"), {"dtype": "float16"}
    qmax = 255 if dtype == "uint8" else 65535
    lo = float(value.min()) if value.size else 0.0
    hi = float(value.max()) if value.size else 0.0
    scale = 1.0 if hi == lo else (hi - lo) / qmax
    if lo <= 0 <= hi:
        # nudge min so that 0.0 is a grid point (exact zeros, e.g. padding, stay exact)
        zero_point = round(-lo / scale)
        lo = -zero_point * scale
    q = np.round((np.clip(value, lo, hi) - lo) / scale)
    stored = np.clip(q, 0, qmax).astype("<u1" if dtype == "uint8" else "<u2")
    return stored, {"dtype": dtype, "scale": scale, "min": lo, "original_dtype": "float32"}


def dequantize_array(stored: np.ndarray, quantization: dict) -> np.ndarray:
    """What tfjs-core's decodeWeight makes of a quantized tensor (for tests and error bounds)."""
    if quantization["dtype"] == "float16":
        return stored.astype(np.float32)
    return (stored.astype(np.float32) * np.float32(quantization["scale"])
            + np.float32(quantization["min"]))


def write_weights(weights: Sequence[Weight], out_dir: str | Path,
                  shard_size: int = DEFAULT_SHARD_SIZE, quantize=None,
                  group: int = 1) -> list[dict]:
    """Write ``weights`` as one group of shards into ``out_dir``; returns the weightsManifest."""
    if shard_size <= 0:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    names = [w.name for w in weights]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two weights are named {duplicate!r}")
    plan = quantization_plan(names, quantize)
    specs: list[dict] = []
    chunks: list[bytes] = []
    for weight in weights:
        dtype = manifest_dtype(weight.value.dtype)
        spec = {"name": weight.name, "shape": [int(d) for d in weight.value.shape],
                "dtype": dtype}
        if dtype == "float32" and weight.name in plan:
            stored, spec["quantization"] = quantize_array(weight.value, plan[weight.name])
        else:
            stored = np.asarray(weight.value).astype(_STORED[dtype])
        chunks.append(np.ascontiguousarray(stored).tobytes())
        specs.append(spec)
    data = b"".join(chunks)
    count = max(1, -(-len(data) // shard_size))
    paths = [f"group{group}-shard{i + 1}of{count}.bin" for i in range(count)]
    out_dir = Path(out_dir)
    for i, path in enumerate(paths):
        (out_dir / path).write_bytes(data[i * shard_size:(i + 1) * shard_size])
    return [{"paths": paths, "weights": specs}]


def read_weights(manifest: Sequence[Mapping], model_dir: str | Path) -> dict[str, np.ndarray]:
    """The float32/int32/bool arrays a manifest describes, decoded as tfjs would."""
    out: dict[str, np.ndarray] = {}
    sizes = {"float32": 4, "int32": 4, "bool": 1, "uint8": 1, "uint16": 2, "float16": 2}
    for group in manifest:
        data = b"".join((Path(model_dir) / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            quant = spec.get("quantization")
            stored = quant["dtype"] if quant else spec["dtype"]
            count = int(np.prod(spec["shape"], dtype=np.int64))
            raw = data[offset:offset + count * sizes[stored]]
            offset += count * sizes[stored]
            storage = {"float16": "<f2", "uint8": "<u1", "uint16": "<u2"}.get(
                stored, _STORED.get(stored))
            array = np.frombuffer(raw, storage).reshape(spec["shape"])
            out[spec["name"]] = dequantize_array(array, quant) if quant else array.copy()
    return out
