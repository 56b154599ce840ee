"""`edgeport.lite.Interpreter`: the tf.lite.Interpreter API over edgeport's NumPy kernels.

Same methods, arguments, detail keys and value types as ``tf.lite.Interpreter``, so code written
for TensorFlow runs unchanged with ``import edgeport as tf``.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ..errors import TensorError, UnsupportedOpError
from ..frontends.tflite import read_tflite
from ..graph import Graph, Tensor
from ..ops import missing_ops
from ..runtime.backends import make_executor
from ..runtime.executor import GraphExecutor
from ..runtime.kernels import bind_kernels, run_subgraph

_CUSTOM_OPS: dict[str, Callable] = {}


def register_custom_op(name: str, fn: Callable) -> None:
    """Give edgeport a NumPy implementation of the custom op ``name``.

    ``fn(inputs, options)`` receives the op's input arrays (a list, None for absent optional
    inputs) and its raw ``custom_options`` bytes, and returns one array or a list of arrays.
    Models loaded after this call can use the op.
    """
    _CUSTOM_OPS[name] = fn


class Interpreter:
    """Runs a .tflite model. See tf.lite.Interpreter for the contract of every method."""

    def __init__(self, model_path: str | os.PathLike | None = None,
                 model_content: bytes | None = None, experimental_delegates=None,
                 num_threads: int | None = None, experimental_op_resolver_type=None,
                 experimental_preserve_all_tensors: bool = False, backend: str = "numpy",
                 devices=None, strategy: str | None = None, placement=None,
                 strict: bool | None = None, **_ignored):
        if (model_path is None) == (model_content is None):
            raise ValueError("give exactly one of model_path and model_content")
        self._source = str(model_path) if model_path is not None else "<model_content>"
        try:
            self._graph = read_tflite(model_path if model_path is not None else model_content,
                                      self._source)
        except UnsupportedOpError as exc:
            # The reader stops at builtins it has no definition for; name every op this
            # interpreter lacks, custom ones included, in one message.
            missing = missing_ops(getattr(exc, "op_types", ()), _CUSTOM_OPS)
            if not missing:
                raise
            raise UnsupportedOpError(f"{self._source}: edgeport has no kernel for "
                                     f"{', '.join(missing)}") from None
        self.num_threads = num_threads
        self._preserve = experimental_preserve_all_tensors
        # edgeport's own: backend "numpy" (the reference) or "jax" (jit, GPUs, several
        # devices with strategy "pipeline" or "data_parallel"; see edgeport.runtime.backends).
        self._device_options = dict(backend=backend, devices=devices, strategy=strategy,
                                    placement=placement, strict=strict)
        self._kernels = bind_kernels(self._graph, dict(_CUSTOM_OPS), self._source,
                                     call=self._call_subgraph)
        self._executors: dict[int, GraphExecutor] = {}
        self._names = list(self._graph.tensors)
        self._indices: dict[int, dict[str, int]] = {}  # per subgraph: tensor name -> index

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def graph(self) -> Graph:
        """The model as edgeport's IR (read-only use)."""
        return self._graph

    def executor(self, subgraph_index: int = 0) -> GraphExecutor:
        """The executor of a subgraph: its planned ``steps`` and, after
        ``invoke(profile=True)``, per-step ``op_times`` (seconds, aligned with ``steps``)."""
        return self._executor(subgraph_index)

    def _executor(self, subgraph_index: int = 0) -> GraphExecutor:
        if subgraph_index not in self._executors:
            graphs = self._graph.all_graphs()
            if not 0 <= subgraph_index < len(graphs):
                raise TensorError(f"{self._source}: no subgraph {subgraph_index}")
            self._executors[subgraph_index] = make_executor(
                graphs[subgraph_index], self._kernels, self._source, self._preserve,
                self.num_threads, **self._device_options)
        return self._executors[subgraph_index]

    def _call_subgraph(self, index: int, inputs: list) -> list:
        """What IF runs: this interpreter's executor of subgraph ``index``, on its backend."""
        return run_subgraph(self._executor(index), inputs)

    def _index_of(self, subgraph_index: int = 0) -> dict[str, int]:
        """Tensor name -> index in one subgraph, built once (lookups stay O(1))."""
        if subgraph_index not in self._indices:
            tensors = self._executor(subgraph_index).graph.tensors
            self._indices[subgraph_index] = {name: i for i, name in enumerate(tensors)}
        return self._indices[subgraph_index]

    def _name(self, index: int, subgraph_index: int = 0) -> str:
        names = self._names if subgraph_index == 0 else list(self._index_of(subgraph_index))
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(names):
            raise TensorError(f"{self._source}: tensor index {index} is out of range "
                              f"(the model has {len(names)} tensors)")
        return names[index]

    def _settable(self, index: int) -> str:
        """The name of tensor ``index`` if it can be set or resized, as in tf.lite: a graph
        input, or a variable tensor (a recurrent op's state)."""
        name = self._name(index)
        if name not in self._graph.inputs and name not in self._executor(0).state_names:
            raise TensorError(f"{self._source}: tensor {index} ({name!r}) is not an input of "
                              "the model; only inputs and variable tensors can be set or "
                              "resized")
        return name

    def placement_report(self):
        """What ran where, the copies made between devices and the fallbacks (backend="jax")."""
        return self._executor(0).placement_report()

    # -- the tf.lite.Interpreter API -------------------------------------------------------------
    def allocate_tensors(self) -> None:
        """Plan for the current input shapes; as in LiteRT, a second call with nothing
        resized keeps the plan and the variable tensors' state."""
        executor = self._executor(0)
        if not executor.allocated:
            executor.allocate()

    def reset_all_variables(self) -> None:
        """Every variable tensor (a recurrent op's state) back to zeros, in every subgraph."""
        for executor in self._executors.values():
            executor.reset_variables()

    def invoke(self) -> None:
        self._executor(0).invoke()

    def resize_tensor_input(self, input_index: int, tensor_size, strict: bool = False) -> None:
        name = self._settable(input_index)
        signature = self._graph.tensors[name].shape
        size = [int(d) for d in np.asarray(tensor_size).reshape(-1)]
        if len(size) != len(signature) and strict:
            raise TensorError(f"{self._source}: input {name!r} has rank {len(signature)}, "
                              f"cannot resize to {size}")
        if strict and any(s != -1 and s != d for s, d in zip(signature, size)):
            raise TensorError(f"{self._source}: with strict=True only dynamic (-1) dims of input "
                              f"{name!r} (signature {list(signature)}) can change, not to {size}")
        if any(d < 0 for d in size):
            raise TensorError(f"{self._source}: cannot resize input {name!r} to {size}")
        self._executor(0).resize_input(name, size)

    def set_tensor(self, tensor_index: int, value) -> None:
        name = self._settable(tensor_index)
        executor = self._executor(0)
        tensor = self._graph.tensors[name]
        value = np.asarray(value)
        _check_value(value, tensor, executor.shape_of(name),
                     f"{self._source}: tensor {tensor_index} ({name!r})")
        state = executor.variables if name in executor.state_names else executor.values
        state[name] = np.array(value, copy=True)

    def get_tensor(self, tensor_index: int, subgraph_index: int = 0) -> np.ndarray:
        return np.array(self._value(tensor_index, subgraph_index), copy=True)

    def tensor(self, tensor_index: int) -> Callable[[], np.ndarray]:
        """A function returning the tensor's current array itself (no copy), as tf.lite does."""
        self._name(tensor_index)
        return lambda: self._value(tensor_index, 0)

    def _value(self, index: int, subgraph_index: int) -> np.ndarray:
        name = self._name(index, subgraph_index)
        executor = self._executor(subgraph_index)
        tensor = executor.graph.tensors[name]
        if name in executor.variables:
            return executor.variables[name]
        if name in executor.values:
            return executor.values[name]
        if name in executor.constants:
            return executor.constants[name]
        if tensor.data is not None and tensor.sparsity is None:
            return tensor.data
        if not executor.allocated or name in executor.graph.outputs:
            return np.zeros(executor.shape_of(name), tensor.dtype)
        raise TensorError(f"{self._source}: tensor {index} ({name!r}) is an intermediate that "
                          "was not kept; create the Interpreter with "
                          "experimental_preserve_all_tensors=True to read it")

    def get_input_details(self) -> list[dict]:
        return [self._details(name) for name in self._graph.inputs]

    def get_output_details(self) -> list[dict]:
        return [self._details(name) for name in self._graph.outputs]

    def get_tensor_details(self) -> list[dict]:
        return [self._details(name) for name in self._names]

    def _details(self, name: str, executor: GraphExecutor | None = None) -> dict:
        executor = executor or self._executor(0)
        tensor = executor.graph.tensors[name]
        index = self._index_of(self._graph.all_graphs().index(executor.graph))[name]
        return tensor_details(tensor, index, executor.shape_of(name))

    def get_signature_list(self) -> dict[str, dict[str, list[str]]]:
        return {sig.key: {"inputs": sorted(sig.inputs), "outputs": sorted(sig.outputs)}
                for sig in self._graph.signatures}

    def get_signature_runner(self, signature_key: str | None = None) -> "SignatureRunner":
        signatures = {sig.key: sig for sig in self._graph.signatures}
        if signature_key is None:
            if len(signatures) != 1:
                raise ValueError(f"{self._source}: the model has {len(signatures)} signatures "
                                 f"({', '.join(signatures) or 'none'}); name one")
            signature_key = next(iter(signatures))
        if signature_key not in signatures:
            raise ValueError(f"{self._source}: no signature {signature_key!r}; the model has "
                             f"{', '.join(signatures) or 'none'}")
        signature = signatures[signature_key]
        return SignatureRunner(self, signature, self._executor(signature.subgraph_index))


class SignatureRunner:
    """Runs one signature: ``runner(x=...)`` returns ``{output_name: array}``."""

    def __init__(self, interpreter: Interpreter, signature, executor: GraphExecutor):
        self._interpreter = interpreter
        self._signature = signature
        self._executor = executor

    def __call__(self, **inputs) -> dict[str, np.ndarray]:
        expected = set(self._signature.inputs)
        if set(inputs) != expected:
            raise TensorError(f"signature {self._signature.key!r} takes inputs "
                              f"{sorted(expected)}, got {sorted(inputs)}")
        feeds = {}
        for key, value in inputs.items():
            name = self._signature.inputs[key]
            value = np.asarray(value)
            tensor = self._executor.graph.tensors[name]
            _check_value(value, tensor, value.shape, f"signature input {key!r}")
            feeds[name] = value
        self._executor.run(feeds)
        return {key: np.array(self._executor.values[name], copy=True)
                for key, name in self._signature.outputs.items()}

    def get_input_details(self) -> dict[str, dict]:
        return {key: self._interpreter._details(name, self._executor)
                for key, name in self._signature.inputs.items()}

    def get_output_details(self) -> dict[str, dict]:
        return {key: self._interpreter._details(name, self._executor)
                for key, name in self._signature.outputs.items()}


def feed_inputs(interpreter, arrays) -> None:
    """Resize the inputs of a tf.lite-style ``interpreter`` (edgeport's, LiteRT's or
    TensorFlow's) to ``arrays``' shapes, allocate its tensors, and set the inputs."""
    details = interpreter.get_input_details()
    for detail, value in zip(details, arrays):
        if tuple(detail["shape"]) != value.shape:
            interpreter.resize_tensor_input(detail["index"], value.shape)
    interpreter.allocate_tensors()
    for detail, value in zip(details, arrays):
        interpreter.set_tensor(detail["index"], value)


def _check_value(value: np.ndarray, tensor: Tensor, shape, where: str) -> None:
    if value.dtype != tensor.dtype:
        raise TensorError(f"{where}: got a value of dtype {value.dtype}, expected "
                          f"{tensor.dtype}")
    if tuple(value.shape) != tuple(shape):
        raise TensorError(f"{where}: got a value of shape {list(value.shape)}, expected "
                          f"{list(shape)}; call resize_tensor_input() and allocate_tensors() "
                          "to change it")


def tensor_details(tensor: Tensor, index: int, shape) -> dict:
    """One entry of get_tensor_details(), with tf.lite's keys and value types."""
    q = tensor.quant
    scales = q.scale.astype(np.float32) if q is not None else np.zeros(0, np.float32)
    zero_points = (q.zero_point.astype(np.int32) if q is not None else np.zeros(0, np.int32))
    legacy = (float(scales[0]), int(zero_points[0])) if scales.size == 1 else (0.0, 0)
    return {
        "name": tensor.name,
        "index": index,
        "shape": np.array(shape, dtype=np.int32),
        # tf.lite reports the file's signature if it has dynamic dims, else the current shape
        # (so a resized static input shows its new batch).
        "shape_signature": np.array(tensor.shape if any(d < 0 for d in tensor.shape) else shape,
                                    dtype=np.int32),
        "dtype": tensor.dtype.type,
        "quantization": legacy,
        "quantization_parameters": {
            "scales": scales, "zero_points": zero_points,
            "quantized_dimension": q.axis if q is not None else 0,
            "block_size": 0,
        },
        "sparsity_parameters": _sparsity_details(tensor),
    }


def _sparsity_details(tensor: Tensor) -> dict:
    s = tensor.sparsity
    if s is None:
        return {}
    dims = []
    for dim in s.dim_metadata:
        if dim.format == "DENSE":
            dims.append({"format": 0, "dense_size": dim.dense_size})
        else:
            dims.append({"format": 1,  # int32 whatever the file's index width, as tf.lite
                         "array_segments": np.asarray(dim.segments, np.int32),
                         "array_indices": np.asarray(dim.indices, np.int32)})
    details = {"traversal_order": np.array(s.traversal_order, np.int32)}
    if s.block_map:  # as tf.lite: the key only when the model has a block map
        details["block_map"] = np.array(s.block_map, np.int32)
    details["dim_metadata"] = dims
    return details
