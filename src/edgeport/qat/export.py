"""A trained `QATModel` as the int8 .tflite whose arithmetic it simulated, and the check that
the two agree.

The trained weights go back into a copy of the float graph, which the post-training int8
rewrite (`quantize_int8`) quantizes with the learned ranges: the exported model is the one
that was trained, not a re-calibration of it.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import EdgeportError, QuantizationError
from ..graph import Graph
from ..quantize.plan import Int8Options


def trained_float_graph(graph: Graph, params: dict) -> Graph:
    """A copy of ``graph`` holding the trained weights ``params`` {tensor: array}."""
    graph = copy.deepcopy(graph)
    for name, value in params.items():
        graph.tensors[name].data = np.asarray(value, np.float32)
    return graph


def int8_tflite(graph: Graph, ranges: dict, options: Int8Options, input_type,
                output_type) -> bytes:
    """The .tflite bytes of ``graph`` quantized to int8 with ``ranges`` and ``options``,
    its inputs and outputs of ``input_type`` and ``output_type``. Any failure is a
    QuantizationError."""
    from ..export.tflite import write_tflite
    from ..quantize import quantize_int8
    from ..shapes import validate

    options = copy.copy(options)
    options.input_type = np.dtype(input_type)
    options.output_type = np.dtype(output_type)
    try:
        return write_tflite(validate(quantize_int8(graph, ranges, options)))
    except QuantizationError:
        raise
    except EdgeportError as exc:
        raise QuantizationError(f"converting the trained model failed: {exc}") from None


def tflite_first_output(model: bytes, inputs: list[np.ndarray]) -> np.ndarray:
    """The first output of the .tflite ``model`` on ``inputs`` (float, put on an integer
    input's grid), in edgeport's interpreter, all samples in one batch."""
    from ..lite import Interpreter

    interpreter = Interpreter(model_content=model)
    details = interpreter.get_input_details()
    for detail, value in zip(details, inputs):
        interpreter.resize_tensor_input(detail["index"], value.shape)
    interpreter.allocate_tensors()
    for detail, value in zip(details, inputs):
        interpreter.set_tensor(detail["index"], _as_input(value, detail))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def top1_agreement(ours: np.ndarray, theirs: np.ndarray) -> float:
    """The fraction of samples (axis 0) whose arg-max over the other axes is the same."""
    return float(np.mean(ours.reshape(len(ours), -1).argmax(-1)
                         == theirs.reshape(len(theirs), -1).argmax(-1)))


def _as_input(value: np.ndarray, detail: dict) -> np.ndarray:
    """A float input on an integer model input's grid."""
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return value
    scale, zero = detail["quantization"]
    info = np.iinfo(dtype)
    return np.clip(np.round(value / scale) + zero, info.min, info.max).astype(dtype)
