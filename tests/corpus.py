"""The production-model corpus: the .tflite files shipped in the mediapipe 0.10.14 wheel.

The wheel is fetched once by the test command (``pip download --no-deps mediapipe==0.10.14 -d
.cache/wheels``); `mediapipe_models` unpacks its models into ``.cache/mediapipe/`` on first use.
Nothing here touches the network: a missing wheel is a test failure that says how to fetch it.

Also the synthetic corpus: small models built with edgeport's IR that exercise every feature of
the format (all dtypes, quantization, sparsity, dynamic dims, subgraphs, signatures, metadata,
custom ops), for the reader/writer and Interpreter tests.
"""

from __future__ import annotations

import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from edgeport.graph import (DimensionMetadata, Graph, Op, QuantParams, Signature, Sparsity,
                            Tensor)

ROOT = Path(__file__).resolve().parents[1]
WHEEL_DIR = ROOT / ".cache" / "wheels"
MODEL_DIR = ROOT / ".cache" / "mediapipe"
WHEEL_GLOB = "mediapipe-0.10.14-*.whl"
FETCH = "pip download --no-deps mediapipe==0.10.14 -d .cache/wheels"
PREFIX = "mediapipe/modules/"


@lru_cache(maxsize=None)
def mediapipe_models() -> dict[str, Path]:
    """name (file stem) -> path of every mediapipe/modules/**/*.tflite of the wheel, sorted."""
    wheels = sorted(WHEEL_DIR.glob(WHEEL_GLOB))
    if not wheels:
        pytest.fail(f"the mediapipe 0.10.14 wheel is not in {WHEEL_DIR}; fetch it from the "
                    f"repository root with: {FETCH}")
    models: dict[str, Path] = {}
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for info in wheel.infolist():
            name = info.filename
            if not (name.startswith(PREFIX) and name.endswith(".tflite")):
                continue
            target = MODEL_DIR / Path(name).relative_to(PREFIX)
            if not target.exists() or target.stat().st_size != info.file_size:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_suffix(".tflite.tmp")
                tmp.write_bytes(wheel.read(info))
                tmp.replace(target)  # atomic: a parallel or interrupted run never sees half
            if target.stem in models:
                raise RuntimeError(f"two corpus models are named {target.stem!r}")
            models[target.stem] = target
    if not models:
        pytest.fail(f"{wheels[-1]} holds no {PREFIX}**/*.tflite; re-fetch it with: {FETCH}")
    return dict(sorted(models.items()))


def mediapipe_model_names() -> list[str]:
    """The corpus names, for parametrize. If the wheel is missing this is one placeholder
    name, whose test then fails in its body (with the fetch command) instead of the whole
    collection erroring or the tests silently vanishing."""
    wheels = sorted(WHEEL_DIR.glob(WHEEL_GLOB))
    if not wheels:
        return ["<mediapipe wheel missing>"]
    with zipfile.ZipFile(wheels[-1]) as wheel:
        return sorted(Path(n).stem for n in wheel.namelist()
                      if n.startswith(PREFIX) and n.endswith(".tflite"))


# The custom ops of each corpus model that has any (inspected with the tflite schema; edgeport's
# reader must agree, see tests/test_mediapipe_models.py). LiteRT's reference resolver has none
# of them; models listed here need a NumPy implementation registered to run in edgeport.
CUSTOM_OP_MODELS = {
    "face_landmark_with_attention": {"Landmarks2TransformMatrix", "TransformLandmarks",
                                     "TransformTensorBilinear"},
    "selfie_segmentation": {"Convolution2DTransposeBias"},
    "selfie_segmentation_landscape": {"Convolution2DTransposeBias"},
}


def runnable_model_names() -> list[str]:
    """The corpus models that use builtin ops only (LiteRT and edgeport run them as they are)."""
    return [name for name in mediapipe_model_names() if name not in CUSTOM_OP_MODELS]


def mediapipe_model(name: str) -> Path:
    """One corpus model by name; fails (with the fetch command) if the wheel is missing."""
    return mediapipe_models()[name]


# -- the synthetic corpus: small models that exercise every feature of the format ---------------

def _const(graph, name, value, quant=None, sparsity=None, shape=None):
    value = np.asarray(value)
    graph.add_tensor(Tensor(name, value.shape if shape is None else shape, value.dtype, value,
                            quant, sparsity))
    return name


def _add(graph, x, y, out, shape, dtype=np.float32, activation="NONE", quant=None):
    graph.add_tensor(Tensor(out, shape, dtype, quant=quant))
    graph.add_op(Op("ADD", [x, y], [out], {"fused_activation_function": activation,
                                            "pot_scale_int16": False}, origin=f"add_{out}"))
    return out


def feature_graph(seed: int = 0) -> Graph:
    """A model using every feature the reader and writer carry, that LiteRT also runs.

    Subgraph 0 adds constants to float32 (dynamic batch), int32 and int64 inputs and holds
    unused constants of every dtype, per-tensor and per-axis quantized constants and a sparse
    (CSR) constant; subgraph 1 doubles its input. Two signatures, two metadata entries.
    """
    rng = np.random.default_rng(seed)
    g = Graph(name="main", description="edgeport feature model",
              metadata={"edgeport_note": b"\x00\x01binary\xff", "empty_entry": b""})
    for name, shape, dtype in (("x", (-1, 4), np.float32), ("i", (2, 3), np.int32),
                               ("k", (3,), np.int64)):
        g.add_tensor(Tensor(name, shape, dtype))
        g.inputs.append(name)
    _const(g, "c_f32", rng.standard_normal(4).astype(np.float32))
    _const(g, "c_i32", rng.integers(-100, 100, (2, 3)).astype(np.int32))
    _const(g, "c_i64", rng.integers(-2**40, 2**40, 3).astype(np.int64))
    g.outputs = [_add(g, "x", "c_f32", "y", (-1, 4), activation="RELU"),
                 _add(g, "i", "c_i32", "j", (2, 3), np.int32),
                 _add(g, "k", "c_i64", "l", (3,), np.int64)]
    _const(g, "c_f16", rng.standard_normal((2, 3)).astype(np.float16))
    _const(g, "c_f64", rng.standard_normal(3))
    _const(g, "c_i16", rng.integers(-2**15, 2**15, 5).astype(np.int16),
           QuantParams([0.25], [0]))
    _const(g, "c_u8", rng.integers(0, 256, (2, 2)).astype(np.uint8),
           QuantParams([0.5], [128], min=[-64.0], max=[63.5]))
    _const(g, "c_i8_per_axis", rng.integers(-127, 128, (3, 2, 2)).astype(np.int8),
           QuantParams([0.1, 0.2, 0.3], [0, 0, 0], axis=0))
    _const(g, "c_i8_axis3", rng.integers(-127, 128, (1, 2, 2, 4)).astype(np.int8),
           QuantParams([0.5, 0.25, 0.125, 1.0], [0, 0, 0, 0], axis=3))
    _const(g, "c_bool", rng.integers(0, 2, (2, 2)).astype(bool))
    _const(g, "c_scalar", np.float32(3.5))
    # A 4x4 matrix with 5 non-zeros in CSR: row 0 dense, column indices per row.
    sparsity = Sparsity([0, 1], [], [
        DimensionMetadata("DENSE", 4),
        DimensionMetadata("SPARSE_CSR", 0, np.array([0, 2, 3, 3, 5], np.int32),
                          np.array([0, 3, 1, 0, 2], np.int32))])
    _const(g, "c_sparse", np.arange(1, 6, dtype=np.float32), sparsity=sparsity, shape=(4, 4))

    double = Graph(name="double")
    double.add_tensor(Tensor("a", (2,), np.float32))
    double.inputs = ["a"]
    double.outputs = [_add(double, "a", "a", "b", (2,))]
    g.subgraphs = [double]
    g.signatures = [Signature("serving_default", {"x_in": "x", "i_in": "i", "k_in": "k"},
                              {"y_out": "y", "j_out": "j", "l_out": "l"}, 0),
                    Signature("double", {"a": "a"}, {"b": "b"}, 1)]
    return g


CUSTOM_OP = "EdgeportTestScale"
CUSTOM_OPTIONS = bytes([3, 0, 255, 7])


def scale_op(inputs: list, options: bytes) -> np.ndarray:
    """The NumPy kernel of CUSTOM_OP: its input times the first custom-options byte."""
    return inputs[0] * np.float32(options[0])


def custom_op_graph() -> Graph:
    """x -> CUSTOM:EdgeportTestScale (options CUSTOM_OPTIONS) -> ADD 1 -> z, all [2, 3]."""
    g = Graph(name="main")
    g.add_tensor(Tensor("x", (2, 3), np.float32))
    g.add_tensor(Tensor("scaled", (2, 3), np.float32))
    g.inputs = ["x"]
    g.add_op(Op(f"CUSTOM:{CUSTOM_OP}", ["x"], ["scaled"], {"custom_options": CUSTOM_OPTIONS},
                origin="scale"))
    _const(g, "one", np.ones((2, 3), np.float32))
    g.outputs = [_add(g, "scaled", "one", "z", (2, 3))]
    return g


def add_chain_graph(n_ops: int = 3, shape=(1, 8, 8, 3), dtype=np.float32, seed: int = 0,
                    preserve_names: bool = True) -> Graph:
    """x -> ADD c0 -> ADD c1 -> ... : a small runnable model with intermediates."""
    rng = np.random.default_rng(seed)
    g = Graph(name="main")
    g.add_tensor(Tensor("x", shape, dtype))
    g.inputs = ["x"]
    current = "x"
    for i in range(n_ops):
        c = _const(g, f"c{i}", rng.standard_normal(shape[-1:]).astype(dtype))
        current = _add(g, current, c, f"t{i}", shape,
                       activation=("NONE", "RELU", "RELU6")[i % 3])
    g.outputs = [current]
    return g
