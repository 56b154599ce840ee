"""Built-in example models, so that every command can be tried without bringing a model.

- `trained_digits_model_path()`: a small CNN trained with Keras on scikit-learn's digits
  (bench/train_digits.py), shipped as a .keras file (edgeport reads it without Keras), with
  its held-out test split and calibration images (`digits_test_split()`,
  `digits_calibration_images()`). The README's main job, quantization's story, runs on it.
- `digits_cnn()`: a graph of the same kind built in code, 8×8 grey images in, ten class
  probabilities out, with seeded random (He-initialised) weights, not trained: it exercises
  the same ops as a trained model would, for the commands that need any model at all.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from ..graph import Graph, Op, Signature, Tensor

_MODEL = "digits_cnn.keras"
_SPLIT = "digits_split.npz"
_PIXEL_MAX = 16.0  # scikit-learn's digits are integer intensities 0..16


def trained_digits_model_path() -> Path:
    """The shipped .keras file: input ``image`` [N, 8, 8, 1] float32 in [0, 1], output ten
    softmax probabilities; ~23k parameters, about 99% accurate on `digits_test_split()`."""
    return _asset(_MODEL)


def digits_test_split() -> tuple[np.ndarray, np.ndarray]:
    """The held-out test images as the model's input (float32 [N, 8, 8, 1] in [0, 1]) and
    their labels (int64 [N]); never seen in training."""
    with np.load(_asset(_SPLIT)) as data:
        return _as_input(data["x_test"]), data["y_test"].astype(np.int64)


def digits_calibration_images() -> np.ndarray:
    """200 training images (float32 [200, 8, 8, 1]): representative data for full-integer
    quantization, disjoint from the test split."""
    with np.load(_asset(_SPLIT)) as data:
        return _as_input(data["x_calibration"])


def _as_input(pixels: np.ndarray) -> np.ndarray:
    return (pixels.astype(np.float32) / _PIXEL_MAX)[..., None]


def _asset(name: str) -> Path:
    # The package is installed as plain files (never zipped), so the resource is a real path.
    return Path(str(resources.files(__name__).joinpath(name)))


def digits_cnn(seed: int = 0) -> Graph:
    """CONV_2D -> MAX_POOL_2D -> CONV_2D -> MEAN -> FULLY_CONNECTED -> SOFTMAX on [1, 8, 8, 1]."""
    rng = np.random.default_rng(seed)
    graph = Graph(name="digits_cnn", description="edgeport example: digits CNN")
    builder = _Builder(graph, rng)
    x = builder.tensor("image", (-1, 8, 8, 1))
    graph.inputs = [x]
    h = builder.conv(x, 8, "conv1", (-1, 8, 8, 8))
    h = builder.op("MAX_POOL_2D", [h], (-1, 4, 4, 8), "pool1",
                   padding="VALID", stride_w=2, stride_h=2, filter_width=2, filter_height=2,
                   fused_activation_function="NONE")
    h = builder.conv(h, 16, "conv2", (-1, 4, 4, 16))
    axes = builder.constant("pool2/axes", np.array([1, 2], np.int32))
    h = builder.op("MEAN", [h, axes], (-1, 16), "pool2", keep_dims=False)
    weights = builder.constant("dense/kernel", _he(rng, (10, 16), 16))
    bias = builder.constant("dense/bias", np.zeros(10, np.float32))
    h = builder.op("FULLY_CONNECTED", [h, weights, bias], (-1, 10), "dense",
                   fused_activation_function="NONE", keep_num_dims=False)
    y = builder.op("SOFTMAX", [h], (-1, 10), "probabilities", beta=1.0)
    graph.outputs = [y]
    graph.signatures = [Signature("serving_default", {"image": x}, {"probabilities": y})]
    return graph


class _Builder:
    def __init__(self, graph: Graph, rng: np.random.Generator):
        self.graph = graph
        self.rng = rng

    def tensor(self, name, shape, dtype=np.float32, data=None) -> str:
        return self.graph.add_tensor(Tensor(name, shape, dtype, data)).name

    def constant(self, name, data: np.ndarray) -> str:
        return self.tensor(name, data.shape, data.dtype, data)

    def op(self, op_type, inputs, shape, origin, **attrs) -> str:
        out = self.tensor(origin, shape)
        self.graph.add_op(Op(op_type, inputs, [out], attrs, origin=origin))
        return out

    def conv(self, x: str, filters: int, origin: str, shape) -> str:
        channels = self.graph.tensors[x].shape[-1]
        kernel = self.constant(f"{origin}/kernel",
                               _he(self.rng, (filters, 3, 3, channels), 9 * channels))
        bias = self.constant(f"{origin}/bias", np.zeros(filters, np.float32))
        return self.op("CONV_2D", [x, kernel, bias], shape, origin, padding="SAME",
                       stride_w=1, stride_h=1, dilation_w_factor=1, dilation_h_factor=1,
                       fused_activation_function="RELU")


def _he(rng: np.random.Generator, shape, fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
