"""`ModelRunner`: one .tflite model run on float data, whatever its input and output types,
for the quantization report (edgeport.quantize.report) and the chapter's story."""

from __future__ import annotations

import os
import time
from typing import Sequence

import numpy as np

from ..lite import Interpreter
from ..lite.values import dequantize_output, is_quantized, quantize_input



class ModelRunner:
    """A .tflite model (path or bytes) on float data: inputs quantized to the model's integer
    input types, integer outputs and kept tensors dequantized. ``runtime`` "edgeport" (our
    interpreter) or "litert" (Google's, when installed; for latency, 1 thread)."""

    def __init__(self, model, preserve: bool = False, runtime: str = "edgeport"):
        is_path = isinstance(model, (str, os.PathLike))
        self.source = os.fspath(model) if is_path else "<model bytes>"
        self.nbytes = os.path.getsize(model) if is_path else len(model)
        kwargs = {"model_path": os.fspath(model)} if is_path else {"model_content": model}
        if runtime == "litert":
            from ai_edge_litert.interpreter import Interpreter as LiteRT

            self._interpreter = LiteRT(num_threads=1, **kwargs)
        else:
            self._interpreter = Interpreter(
                num_threads=1, experimental_preserve_all_tensors=preserve, **kwargs)
        self.graph = self._interpreter.graph if runtime != "litert" else None
        self._inputs = self._interpreter.get_input_details()
        self._details = self._interpreter.get_tensor_details() if preserve else []
        self._index = {d["name"]: d["index"] for d in self._details}
        self._shapes: list[tuple] = []

    def run(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The float outputs for one batch, in output order."""
        it = self._interpreter
        if len(inputs) != len(self._inputs):
            raise ValueError(f"{self.source} takes {len(self._inputs)} inputs, got "
                             f"{len(inputs)}")
        shapes = [tuple(x.shape) for x in inputs]
        if shapes != self._shapes:
            for detail, shape in zip(self._inputs, shapes):
                it.resize_tensor_input(detail["index"], shape)
            it.allocate_tensors()
            self._shapes = shapes
        for detail, value in zip(self._inputs, inputs):
            it.set_tensor(detail["index"], _model_input(np.asarray(value), detail))
        it.invoke()
        return [dequantize_output(it.get_tensor(d["index"]), d) for d in it.get_output_details()]

    def value(self, name: str) -> np.ndarray:
        """A kept tensor of the last run, as float32."""
        index = self._index[name]
        return dequantize_output(self._interpreter.get_tensor(index), self._details[index])

    def latency_ms(self, sample: Sequence[np.ndarray], runs: int = 50, warmup: int = 5) -> float:
        """Median milliseconds per invocation on one sample (batch 1)."""
        one = [np.asarray(x[:1]) for x in sample]
        for _ in range(warmup):
            self.run(one)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            self._interpreter.invoke()
            times.append(time.perf_counter() - start)
        return 1000.0 * float(np.median(times))


def _model_input(value: np.ndarray, detail: dict) -> np.ndarray:
    """Float data quantized for a quantized input (as QUANTIZE would), else cast to its type."""
    if is_quantized(detail) and value.dtype.kind == "f":
        return quantize_input(value, detail)
    return value.astype(detail["dtype"], copy=False)
