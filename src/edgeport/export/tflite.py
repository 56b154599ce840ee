"""Write a `Graph` as a .tflite flatbuffer that LiteRT and TFLite Micro load.

Writer rules (shared/reference/tflite.md §4): schema version 3 and identifier "TFL3"; buffer 0
is the empty sentinel and every non-constant tensor points at it; constant data is 16-byte
aligned; each operator code carries both ``deprecated_builtin_code`` (capped at 127) and
``builtin_code``, and the minimal version its op definition reports.
"""

from __future__ import annotations

import os

import flatbuffers
import numpy as np

from ..errors import UnsupportedOpError
from ..graph import Graph, Op, QuantParams, Sparsity, Tensor
from ..io import atomic_write
from ..ops import get_op
from ..ops.options import schema_module
from ..tflite_schema import (CUSTOM_CODE, FILE_IDENTIFIER, PLACEHOLDER_FOR_GREATER_OP_CODES,
                             SCHEMA_VERSION, builtin_op_codes, type_code_of)

BUFFER_ALIGNMENT = 16


def write_tflite(graph: Graph) -> bytes:
    """The .tflite bytes of ``graph`` (its subgraphs, signatures and metadata included)."""
    return _Writer(graph).write()


def save_tflite(graph: Graph, path: str | os.PathLike) -> int:
    """Write ``graph`` to ``path`` atomically; returns the number of bytes written."""
    data = write_tflite(graph)
    atomic_write(path, data)
    return len(data)


def _m(name: str):
    return schema_module(name)


class _Writer:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.builder = flatbuffers.Builder(1024 + sum(t.nbytes for g in graph.all_graphs()
                                                      for t in g.tensors.values()))
        self.buffers: list[bytes | None] = [None]  # buffer 0: the empty sentinel
        self.opcodes: dict[tuple[str, int], int] = {}

    def write(self) -> bytes:
        b = self.builder
        graphs = self.graph.all_graphs()
        unknown = sorted({op.type for g in graphs for op in g.ops
                          if not op.is_custom and get_op(op.type) is None})
        if unknown:
            raise UnsupportedOpError(f"cannot write op(s) {', '.join(unknown)}: edgeport has no "
                                     "definition for them")
        subgraphs = [self._subgraph(g) for g in graphs]
        metadata = [self._metadata_entry(name, value)
                    for name, value in self.graph.metadata.items()]
        signatures = [self._signature(sig, graphs) for sig in self.graph.signatures]
        opcodes = [self._opcode(op_type, version) for (op_type, version) in self.opcodes]
        buffers = [self._buffer(data) for data in self.buffers]
        description = b.CreateString(self.graph.description)  # as is: "" must read back ""

        M = _m("Model")
        vectors = {name: self._offsets(items) for name, items in
                   (("OperatorCodes", opcodes), ("Subgraphs", subgraphs),
                    ("Buffers", buffers), ("Metadata", metadata),
                    ("SignatureDefs", signatures))}
        M.ModelStart(b)
        M.ModelAddVersion(b, SCHEMA_VERSION)
        M.ModelAddOperatorCodes(b, vectors["OperatorCodes"])
        M.ModelAddSubgraphs(b, vectors["Subgraphs"])
        M.ModelAddDescription(b, description)
        M.ModelAddBuffers(b, vectors["Buffers"])
        if metadata:
            M.ModelAddMetadata(b, vectors["Metadata"])
        if signatures:
            M.ModelAddSignatureDefs(b, vectors["SignatureDefs"])
        b.Finish(M.ModelEnd(b), file_identifier=FILE_IDENTIFIER)
        return bytes(b.Output())

    # -- helpers ----------------------------------------------------------------------------
    def _offsets(self, offsets: list[int]) -> int:
        b = self.builder
        b.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            b.PrependUOffsetTRelative(offset)
        return b.EndVector()

    def _ints(self, values, dtype=np.int32) -> int:
        return self.builder.CreateNumpyVector(np.asarray(list(values), dtype=dtype))

    def _add_buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def _buffer(self, data: bytes | None) -> int:
        b, B = self.builder, _m("Buffer")
        vector = None
        if data:
            b.StartVector(1, len(data), BUFFER_ALIGNMENT)
            b.head -= len(data)
            b.Bytes[b.head:b.head + len(data)] = data
            vector = b.EndVector()
        B.BufferStart(b)
        if vector is not None:
            B.BufferAddData(b, vector)
        return B.BufferEnd(b)

    # -- model parts ------------------------------------------------------------------------
    def _opcode(self, op_type: str, version: int) -> int:
        b, C = self.builder, _m("OperatorCode")
        custom = b.CreateString(op_type[len("CUSTOM:"):]) if op_type.startswith("CUSTOM:") else None
        code = CUSTOM_CODE if custom is not None else builtin_op_codes()[op_type]
        C.OperatorCodeStart(b)
        C.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, PLACEHOLDER_FOR_GREATER_OP_CODES))
        C.OperatorCodeAddBuiltinCode(b, code)
        C.OperatorCodeAddVersion(b, version)
        if custom is not None:
            C.OperatorCodeAddCustomCode(b, custom)
        return C.OperatorCodeEnd(b)

    def _opcode_index(self, op: Op, graph: Graph) -> int:
        version = 1 if op.is_custom else get_op(op.type).version(op, graph)
        return self.opcodes.setdefault((op.type, version), len(self.opcodes))

    def _metadata_entry(self, name: str, value: bytes) -> int:
        b, M = self.builder, _m("Metadata")
        buffer = self._add_buffer(bytes(value))
        text = b.CreateString(name)
        M.MetadataStart(b)
        M.MetadataAddName(b, text)
        M.MetadataAddBuffer(b, buffer)
        return M.MetadataEnd(b)

    def _signature(self, sig, graphs: list[Graph]) -> int:
        b, S, T = self.builder, _m("SignatureDef"), _m("TensorMap")
        index_of = {name: i for i, name in enumerate(graphs[sig.subgraph_index].tensors)}

        def maps(mapping: dict[str, str]) -> int:
            entries = []
            for key, tensor in mapping.items():
                text = b.CreateString(key)
                T.TensorMapStart(b)
                T.TensorMapAddName(b, text)
                T.TensorMapAddTensorIndex(b, index_of[tensor])
                entries.append(T.TensorMapEnd(b))
            return self._offsets(entries)

        inputs, outputs = maps(sig.inputs), maps(sig.outputs)
        key = b.CreateString(sig.key)
        S.SignatureDefStart(b)
        S.SignatureDefAddInputs(b, inputs)
        S.SignatureDefAddOutputs(b, outputs)
        S.SignatureDefAddSignatureKey(b, key)
        S.SignatureDefAddSubgraphIndex(b, sig.subgraph_index)
        return S.SignatureDefEnd(b)

    def _subgraph(self, graph: Graph) -> int:
        b, G = self.builder, _m("SubGraph")
        index_of = {name: i for i, name in enumerate(graph.tensors)}
        tensors = self._offsets([self._tensor(t) for t in graph.tensors.values()])
        ops = self._offsets([self._operator(op, graph, index_of) for op in graph.ops])
        inputs = self._ints(index_of[n] for n in graph.inputs)
        outputs = self._ints(index_of[n] for n in graph.outputs)
        name = b.CreateString(graph.name)
        G.SubGraphStart(b)
        G.SubGraphAddTensors(b, tensors)
        G.SubGraphAddInputs(b, inputs)
        G.SubGraphAddOutputs(b, outputs)
        G.SubGraphAddOperators(b, ops)
        G.SubGraphAddName(b, name)
        return G.SubGraphEnd(b)

    def _operator(self, op: Op, graph: Graph, index_of: dict[str, int]) -> int:
        b, operator = self.builder, _m("Operator")
        opcode_index = self._opcode_index(op, graph)
        inputs = self._ints(-1 if n is None else index_of[n] for n in op.inputs)
        outputs = self._ints(index_of[n] for n in op.outputs)
        intermediates = self._ints(index_of[n] for n in op.intermediates) \
            if op.intermediates else None
        custom = options = None
        definition = None if op.is_custom else get_op(op.type)
        if op.is_custom:
            custom = self._ints(op.attrs.get("custom_options", b""), np.uint8)
        elif definition.options is not None:
            options = definition.options.write(b, op.attrs)
        operator.OperatorStart(b)
        operator.OperatorAddOpcodeIndex(b, opcode_index)
        operator.OperatorAddInputs(b, inputs)
        operator.OperatorAddOutputs(b, outputs)
        if intermediates is not None:
            operator.OperatorAddIntermediates(b, intermediates)
        if options is not None:
            operator.OperatorAddBuiltinOptionsType(b, definition.options.union_type)
            operator.OperatorAddBuiltinOptions(b, options)
        if custom is not None:
            operator.OperatorAddCustomOptions(b, custom)
        return operator.OperatorEnd(b)

    def _tensor(self, tensor: Tensor) -> int:
        b, T = self.builder, _m("Tensor")
        buffer = 0
        if tensor.data is not None:
            data = np.ascontiguousarray(tensor.data, dtype=tensor.dtype)
            buffer = self._add_buffer(data.astype(data.dtype.newbyteorder("<"), copy=False)
                                      .tobytes())
        dynamic = any(d < 0 for d in tensor.shape)
        shape = self._ints(max(d, 1) for d in tensor.shape)
        signature = self._ints(tensor.shape) if dynamic else None
        quant = self._quant(tensor.quant) if tensor.quant is not None else None
        sparsity = self._sparsity(tensor.sparsity) if tensor.sparsity is not None else None
        name = b.CreateString(tensor.name)
        T.TensorStart(b)
        T.TensorAddShape(b, shape)
        T.TensorAddType(b, type_code_of(tensor.dtype))
        T.TensorAddBuffer(b, buffer)
        T.TensorAddName(b, name)
        if quant is not None:
            T.TensorAddQuantization(b, quant)
        if tensor.is_variable:
            T.TensorAddIsVariable(b, True)
        if sparsity is not None:
            T.TensorAddSparsity(b, sparsity)
        if signature is not None:
            T.TensorAddShapeSignature(b, signature)
        return T.TensorEnd(b)

    def _quant(self, q: QuantParams) -> int:
        b, Q = self.builder, _m("QuantizationParameters")
        scale = self._ints(q.scale, np.float32)
        zero_point = self._ints(q.zero_point, np.int64)
        low = self._ints(q.min, np.float32) if q.min is not None else None
        high = self._ints(q.max, np.float32) if q.max is not None else None
        Q.QuantizationParametersStart(b)
        if low is not None:
            Q.QuantizationParametersAddMin(b, low)
        if high is not None:
            Q.QuantizationParametersAddMax(b, high)
        Q.QuantizationParametersAddScale(b, scale)
        Q.QuantizationParametersAddZeroPoint(b, zero_point)
        Q.QuantizationParametersAddQuantizedDimension(b, q.axis)
        return Q.QuantizationParametersEnd(b)

    def _sparsity(self, s: Sparsity) -> int:
        b, S, D = self.builder, _m("SparsityParameters"), _m("DimensionMetadata")
        dims = []
        for dim in s.dim_metadata:
            if dim.format == "DENSE":
                D.DimensionMetadataStart(b)
                D.DimensionMetadataAddFormat(b, 0)
                D.DimensionMetadataAddDenseSize(b, dim.dense_size)
            else:
                segments = self._index_vector(dim.segments)
                indices = self._index_vector(dim.indices)
                D.DimensionMetadataStart(b)
                D.DimensionMetadataAddFormat(b, 1)
                D.DimensionMetadataAddArraySegmentsType(b, segments[0])
                D.DimensionMetadataAddArraySegments(b, segments[1])
                D.DimensionMetadataAddArrayIndicesType(b, indices[0])
                D.DimensionMetadataAddArrayIndices(b, indices[1])
            dims.append(D.DimensionMetadataEnd(b))
        dim_vector = self._offsets(dims)
        order = self._ints(s.traversal_order)
        block_map = self._ints(s.block_map) if s.block_map else None
        S.SparsityParametersStart(b)
        S.SparsityParametersAddTraversalOrder(b, order)
        if block_map is not None:
            S.SparsityParametersAddBlockMap(b, block_map)
        S.SparsityParametersAddDimMetadata(b, dim_vector)
        return S.SparsityParametersEnd(b)

    def _index_vector(self, values: np.ndarray) -> tuple[int, int]:
        """A SparseIndexVector union value: (type tag, table offset), by the values' dtype."""
        kind = {np.dtype(np.uint8): (3, "Uint8Vector"), np.dtype(np.uint16): (2, "Uint16Vector")
                }.get(values.dtype, (1, "Int32Vector"))
        b, V = self.builder, _m(kind[1])
        vector = self._ints(values, values.dtype if kind[0] != 1 else np.int32)
        getattr(V, f"{kind[1]}Start")(b)
        getattr(V, f"{kind[1]}AddValues")(b, vector)
        return kind[0], getattr(V, f"{kind[1]}End")(b)
