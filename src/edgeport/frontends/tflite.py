"""Read a .tflite flatbuffer into a `Graph`.

Every access to the file is bounds-checked: a corrupt, truncated or hostile file raises
`ModelFormatError` naming the file and what is wrong, never an IndexError, a hang, or an
allocation sized by garbage. Tensor names are made unique (TFLite does not require it).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ..errors import EdgeportError, ModelFormatError, UnsupportedOpError
from ..graph import DimensionMetadata, Graph, Op, QuantParams, Signature, Sparsity, Tensor
from ..ops import get_op
from ..ops.options import schema_module
from ..tflite_schema import CUSTOM_CODE, FILE_IDENTIFIER, builtin_op_names, dtype_of, tensor_type_names

MAX_ELEMENTS = 2**31  # no tensor of a real model comes near; larger is a corrupt shape


def read_tflite(source: str | os.PathLike | bytes | bytearray | memoryview,
                label: str | None = None) -> Graph:
    """Read a .tflite model from a path or from its bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), label or "<model_content>"
    else:
        label = label or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ModelFormatError(f"{label}: cannot read the file ({exc.strerror})") from None
    return _Reader(data, label).read()


class _Reader:
    def __init__(self, data: bytes, label: str):
        self.data = data
        self.label = label

    def fail(self, what: str) -> ModelFormatError:
        return ModelFormatError(f"{self.label}: {what}")

    def count(self, n: int, elem_size: int, what: str) -> int:
        """A vector length, refused if the file is too small to hold that many elements."""
        if n < 0 or n * elem_size > len(self.data):
            raise self.fail(f"{what} claims {n} entries, more than the file can hold")
        return n

    def read(self) -> Graph:
        if len(self.data) < 8:
            raise self.fail(f"not a .tflite file (only {len(self.data)} bytes)")
        if self.data[4:8] != FILE_IDENTIFIER:
            raise self.fail(f"not a .tflite file (file identifier {self.data[4:8]!r}, "
                            f"expected {FILE_IDENTIFIER!r})")
        try:
            return self._read_model()
        except EdgeportError:
            raise
        except (IndexError, struct.error, ValueError, TypeError, OverflowError,
                UnicodeDecodeError, AttributeError, RecursionError, MemoryError) as exc:
            raise self.fail(f"corrupt or truncated .tflite file "
                            f"({type(exc).__name__}: {exc})") from exc

    # -- model ------------------------------------------------------------------------------
    def _read_model(self) -> Graph:
        model = schema_module("Model").Model.GetRootAs(self.data, 0)
        self.buffers = [model.Buffers(i) for i in
                        range(self.count(model.BuffersLength(), 4, "buffer list"))]
        self.opcodes = [self._opcode(model.OperatorCodes(i)) for i in
                        range(self.count(model.OperatorCodesLength(), 4, "operator code list"))]
        n_subgraphs = self.count(model.SubgraphsLength(), 4, "subgraph list")
        if n_subgraphs == 0:
            raise self.fail("the model has no subgraph")
        self.missing: set[str] = set()
        graphs = [self._subgraph(model.Subgraphs(i), i) for i in range(n_subgraphs)]
        if self.missing:
            error = UnsupportedOpError(f"{self.label}: edgeport has no definition for op(s) "
                                       f"{', '.join(sorted(self.missing))}")
            error.op_types = list(dict.fromkeys(self.opcodes))  # so callers can list them all
            raise error
        main = graphs[0]
        main.subgraphs = graphs[1:]
        main.description = _text(model.Description())
        main.metadata = self._metadata(model)
        main.signatures = [self._signature(model.SignatureDefs(i), graphs) for i in
                           range(self.count(model.SignatureDefsLength(), 4, "signature list"))]
        return main

    def _opcode(self, code) -> str:
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == CUSTOM_CODE:
            return "CUSTOM:" + _text(code.CustomCode())
        name = builtin_op_names().get(builtin)
        if name is None:
            raise self.fail(f"unknown builtin operator code {builtin}")
        return name

    def _metadata(self, model) -> dict[str, bytes]:
        found = {}
        for i in range(self.count(model.MetadataLength(), 4, "metadata list")):
            entry = model.Metadata(i)
            found[_text(entry.Name())] = bytes(self._buffer(entry.Buffer(), "metadata"))
        return found

    def _signature(self, sig, graphs: list[Graph]) -> Signature:
        index = sig.SubgraphIndex()
        if not 0 <= index < len(graphs):
            raise self.fail(f"signature {_text(sig.SignatureKey())!r} names subgraph {index}, "
                            f"but there are {len(graphs)}")
        names = list(graphs[index].tensors)

        def mapping(get, length):
            found = {}
            for i in range(self.count(length, 4, "signature tensor list")):
                entry = get(i)
                if not 0 <= entry.TensorIndex() < len(names):
                    raise self.fail(f"signature tensor {_text(entry.Name())!r} has index "
                                    f"{entry.TensorIndex()} out of range")
                found[_text(entry.Name())] = names[entry.TensorIndex()]
            return found

        return Signature(_text(sig.SignatureKey()), mapping(sig.Inputs, sig.InputsLength()),
                         mapping(sig.Outputs, sig.OutputsLength()), index)

    def _buffer(self, index: int, what: str) -> np.ndarray:
        """The bytes of buffer ``index`` (empty for buffer 0 and for empty buffers)."""
        if not 0 <= index < len(self.buffers):
            raise self.fail(f"{what} refers to buffer {index}, but there are {len(self.buffers)}")
        buffer = self.buffers[index]
        offset, size = buffer.Offset(), buffer.Size()
        if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
            if offset + size > len(self.data):
                raise self.fail(f"buffer {index} lies outside the file")
            return np.frombuffer(self.data, np.uint8, size, offset)
        if buffer.DataIsNone():
            return np.zeros(0, np.uint8)
        self.count(buffer.DataLength(), 1, f"buffer {index}")
        return buffer.DataAsNumpy()

    # -- subgraph ---------------------------------------------------------------------------
    def _subgraph(self, sub, index: int) -> Graph:
        graph = Graph(name=_text(sub.Name()) or ("main" if index == 0 else f"subgraph_{index}"))
        n_tensors = self.count(sub.TensorsLength(), 4, "tensor list")
        names = []
        self.next_suffix: dict[str, int] = {}
        for i in range(n_tensors):
            tensor = self._tensor(sub.Tensors(i), i, graph)
            graph.add_tensor(tensor)
            names.append(tensor.name)

        def tensor_names(values, what, optional=False):
            out = []
            for i in values:
                i = int(i)
                if optional and i == -1:
                    out.append(None)
                elif 0 <= i < n_tensors:
                    out.append(names[i])
                else:
                    raise self.fail(f"{what} refers to tensor {i}, but subgraph {index} has "
                                    f"{n_tensors}")
            return out

        graph.inputs = tensor_names(self._ints(sub.InputsAsNumpy, sub.InputsLength),
                                    f"subgraph {index} inputs")
        graph.outputs = tensor_names(self._ints(sub.OutputsAsNumpy, sub.OutputsLength),
                                     f"subgraph {index} outputs")
        for i in range(self.count(sub.OperatorsLength(), 4, "operator list")):
            op = sub.Operators(i)
            op_index = op.OpcodeIndex()
            if not 0 <= op_index < len(self.opcodes):
                raise self.fail(f"operator {i} of subgraph {index} has opcode index {op_index}, "
                                f"but there are {len(self.opcodes)} operator codes")
            op_type = self.opcodes[op_index]
            where = f"operator {i} ({op_type}) of subgraph {index}"
            inputs = tensor_names(self._ints(op.InputsAsNumpy, op.InputsLength),
                                  f"{where} input", optional=True)
            outputs = tensor_names(self._ints(op.OutputsAsNumpy, op.OutputsLength),
                                   f"{where} output")
            intermediates = tensor_names(self._ints(op.IntermediatesAsNumpy,
                                                    op.IntermediatesLength),
                                         f"{where} intermediate")
            graph.add_op(Op(op_type, inputs, outputs, self._attrs(op, op_type, where),
                            intermediates=intermediates))
        return graph

    def _ints(self, as_numpy, length) -> np.ndarray:
        if self.count(length(), 4, "index list") == 0:
            return np.zeros(0, np.int32)
        return as_numpy()

    def _attrs(self, op, op_type: str, where: str) -> dict:
        if op_type.startswith("CUSTOM:"):
            if op.CustomOptionsIsNone():
                return {"custom_options": b""}
            self.count(op.CustomOptionsLength(), 1, f"{where} custom options")
            return {"custom_options": op.CustomOptionsAsNumpy().tobytes()}
        definition = get_op(op_type)
        if definition is None:
            self.missing.add(op_type)
            return {}
        options = definition.options
        if options is None:
            return {}
        union_type = op.BuiltinOptionsType()
        if union_type == 0:
            return options.read(None)
        if union_type != options.union_type:
            raise self.fail(f"{where} carries builtin options of union type {union_type}, "
                            f"expected {options.table}")
        return options.read(op.BuiltinOptions())

    # -- tensor -----------------------------------------------------------------------------
    def _tensor(self, t, index: int, graph: Graph) -> Tensor:
        name = self._unique_name(_text(t.Name()) or f"tensor_{index}", graph)
        dtype = dtype_of(t.Type())
        if dtype is None:
            type_name = tensor_type_names().get(t.Type(), str(t.Type()))
            raise self.fail(f"tensor {name!r} has type {type_name}, which edgeport does not "
                            "support")
        shape = tuple(int(d) for d in self._ints(t.ShapeAsNumpy, t.ShapeLength))
        if t.ShapeSignatureLength() == len(shape) and len(shape) > 0:
            shape = tuple(int(d) for d in self._ints(t.ShapeSignatureAsNumpy,
                                                     t.ShapeSignatureLength))
        if any(d < -1 for d in shape) or np.prod([max(d, 1) for d in shape],
                                                 dtype=np.float64) > MAX_ELEMENTS:
            raise self.fail(f"tensor {name!r} has an impossible shape {list(shape)}")
        sparsity = self._sparsity(t.Sparsity(), name)
        raw = self._buffer(t.Buffer(), f"tensor {name!r}")
        data = None
        if raw.size:
            data = self._tensor_data(raw, shape, dtype, name, sparse=sparsity is not None)
        return Tensor(name, shape, dtype, data, self._quant(t.Quantization(), name), sparsity,
                      bool(t.IsVariable()))

    def _unique_name(self, base: str, graph: Graph) -> str:
        """`Graph.unique_name`'s answer, in amortized constant time: a hostile file naming
        100,000 tensors alike must not take quadratic time."""
        if base not in graph.tensors:
            return base
        i = self.next_suffix.get(base, 0) + 1
        while f"{base}_{i}" in graph.tensors:
            i += 1
        self.next_suffix[base] = i
        return f"{base}_{i}"

    def _tensor_data(self, raw: np.ndarray, shape, dtype: np.dtype, name: str,
                     sparse: bool) -> np.ndarray:
        if raw.size % dtype.itemsize:
            raise self.fail(f"tensor {name!r}: buffer of {raw.size} bytes is not a whole "
                            f"number of {dtype} values")
        values = np.frombuffer(raw.tobytes(), dtype)  # a copy: aligned, owned, no file view
        if sparse:
            return values
        if any(d < 0 for d in shape) or values.size != int(np.prod(shape, dtype=np.int64)):
            raise self.fail(f"tensor {name!r}: buffer holds {values.size} values but its shape "
                            f"{list(shape)} needs {int(np.prod(shape, dtype=np.int64))}")
        return values.reshape(shape)

    def _quant(self, q, name: str) -> QuantParams | None:
        if q is None:
            return None
        n_scale = self.count(q.ScaleLength(), 4, f"tensor {name!r} scales")
        n_zero = self.count(q.ZeroPointLength(), 8, f"tensor {name!r} zero points")
        n_min = self.count(q.MinLength(), 4, f"tensor {name!r} min")
        n_max = self.count(q.MaxLength(), 4, f"tensor {name!r} max")
        if n_scale == 0:
            return None
        scale = q.ScaleAsNumpy().astype(np.float32)
        zero_point = q.ZeroPointAsNumpy().astype(np.int64) if n_zero else np.zeros(n_scale,
                                                                                  np.int64)
        if zero_point.size != scale.size:
            raise self.fail(f"tensor {name!r} has {scale.size} scales but {zero_point.size} "
                            "zero points")
        return QuantParams(scale, zero_point, int(q.QuantizedDimension()),
                           q.MinAsNumpy().astype(np.float32) if n_min else None,
                           q.MaxAsNumpy().astype(np.float32) if n_max else None)

    def _sparsity(self, s, name: str) -> Sparsity | None:
        if s is None:
            return None
        dims = []
        for i in range(self.count(s.DimMetadataLength(), 4, f"tensor {name!r} sparsity")):
            dim = s.DimMetadata(i)
            if dim.Format() == 0:
                dims.append(DimensionMetadata("DENSE", int(dim.DenseSize())))
            else:
                dims.append(DimensionMetadata(
                    "SPARSE_CSR", 0,
                    self._index_vector(dim.ArraySegmentsType(), dim.ArraySegments(), name),
                    self._index_vector(dim.ArrayIndicesType(), dim.ArrayIndices(), name)))
        order = [int(v) for v in self._ints(s.TraversalOrderAsNumpy, s.TraversalOrderLength)]
        block_map = [int(v) for v in self._ints(s.BlockMapAsNumpy, s.BlockMapLength)]
        return Sparsity(order, block_map, dims)

    def _index_vector(self, union_type: int, table, name: str) -> np.ndarray:
        kinds = {1: "Int32Vector", 2: "Uint16Vector", 3: "Uint8Vector"}
        if union_type not in kinds or table is None:
            raise self.fail(f"tensor {name!r}: sparse index vector of unknown type {union_type}")
        vector = getattr(schema_module(kinds[union_type]), kinds[union_type])()
        vector.Init(table.Bytes, table.Pos)
        if self.count(vector.ValuesLength(), 1, f"tensor {name!r} sparse indices") == 0:
            return np.zeros(0, np.int32)
        return vector.ValuesAsNumpy().copy()


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
