"""IR graph -> TF.js graph model: a GraphDef in proto3 JSON whose nodes are TensorFlow ops that
tfjs-converter 4.22 executes, plus its weights.

Every IR tensor becomes a reference to a TF node output (``"node"`` or ``"node:1"``). Constants
become ``Const`` nodes whose values live in the weight shards under the node's name (tfjs looks
them up by name, operation_mapper.ts); inputs become ``Placeholder`` nodes and each graph output
an ``Identity`` node named after the output, listed in the ``signature``. The per-op rules are
the table in `graph_ops`; weights are converted there from TFLite layouts to TensorFlow's.
"""

from __future__ import annotations

import base64
import copy
import re

import numpy as np

from ... import __version__
from ...errors import UnsupportedOpError
from ...graph import Graph
from .weights import Weight, manifest_dtype

_DT = {"float32": "DT_FLOAT", "int32": "DT_INT32", "bool": "DT_BOOL"}


# -- attr values in proto3 JSON ---------------------------------------------------------------
def a_int(value) -> dict:
    return {"i": str(int(value))}


def a_float(value) -> dict:
    return {"f": float(value)}


def a_bool(value) -> dict:
    return {"b": bool(value)}


def a_str(value: str) -> dict:
    return {"s": base64.b64encode(value.encode()).decode()}


def a_ints(values) -> dict:
    return {"list": {"i": [str(int(v)) for v in values]}}


def a_strs(values) -> dict:
    return {"list": {"s": [base64.b64encode(v.encode()).decode() for v in values]}}


def a_type(dtype) -> dict:
    return {"type": tf_dtype(dtype)}


def a_shape(shape) -> dict:
    return {"shape": {"dim": [{"size": str(int(d))} for d in shape]}}


def tf_dtype(dtype) -> str:
    """DT_FLOAT / DT_INT32 / DT_BOOL (TF.js has no 64-bit types: int64 is narrowed to int32)."""
    return _DT[manifest_dtype(np.dtype(dtype))]


class Emitter:
    """Builds the node list and the weights; the op rules call its helpers."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.nodes: list[dict] = []
        self.weights: list[Weight] = []
        self.refs: dict[str, str] = {}  # IR tensor name -> TF output reference
        self.used: set[str] = set()

    # -- names ------------------------------------------------------------------------------
    def name(self, base: str) -> str:
        """A unique, valid TF node name from ``base`` (no ':' which would read as an output
        index; TF's node-name alphabet otherwise)."""
        base = re.sub(r"[^A-Za-z0-9_./-]", "_", base or "node").strip("/") or "node"
        if not re.match(r"[A-Za-z0-9.]", base):
            base = "n" + base
        name, i = base, 0
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    # -- building ---------------------------------------------------------------------------
    def node(self, op: str, inputs: list[str], base: str, attrs: dict | None = None,
             dtype=np.float32) -> str:
        """Add a node; ``T`` is set from ``dtype`` unless given. Returns its name."""
        name = self.name(base)
        attrs = dict(attrs or {})
        if dtype is not None:
            attrs.setdefault("T", a_type(dtype))
        self.nodes.append({"name": name, "op": op, "input": list(inputs), "attr": attrs})
        return name

    def const(self, value, base: str) -> str:
        """A Const node holding ``value`` (stored in the weight shards under its name)."""
        value = np.asarray(value)
        if value.dtype.kind == "f":
            value = value.astype(np.float32)
        elif value.dtype.kind in "iu":
            value = value.astype(np.int32)
        name = self.name(base)
        dtype = tf_dtype(value.dtype)
        self.nodes.append({"name": name, "op": "Const", "input": [], "attr": {
            "value": {"tensor": {"dtype": dtype, "tensorShape": a_shape(value.shape)["shape"]}},
            "dtype": {"type": dtype}}})
        self.weights.append(Weight(name, value))
        return name

    def ref(self, tensor: str) -> str:
        """The TF output holding IR tensor ``tensor`` (emitting a Const on first use)."""
        if tensor not in self.refs:
            t = self.graph.tensors[tensor]
            if not t.is_constant:
                raise UnsupportedOpError(f"tensor {tensor!r} is used before it is produced")
            self.refs[tensor] = self.const(t.data, tensor)
        return self.refs[tensor]

    def value(self, tensor: str | None, op, what: str) -> np.ndarray:
        """The constant value of an op input that TF.js needs constant (e.g. a filter whose
        layout is converted here)."""
        t = self.graph.tensors.get(tensor) if tensor is not None else None
        if t is None or not t.is_constant:
            raise UnsupportedOpError(f"{op.label}: the TF.js export needs the {what} to be a "
                                     "constant")
        return t.data

    def spec(self, tensor: str):
        return self.graph.tensors[tensor]

    def set(self, tensor: str, ref: str) -> None:
        self.refs[tensor] = ref


def export_graph_model(graph: Graph) -> tuple[dict, list[Weight], dict]:
    """(modelTopology, weights, signature) of the TF.js graph model of ``graph``.

    TF.js computes in float32 only, so a quantized graph is exported as the float32 graph it
    approximates (passes.dequantize: compressed weights expanded, quantized tensors holding
    their real values), and constant subgraphs are folded, on a copy. Raises
    UnsupportedOpError naming every op that has no TF.js mapping.
    """
    from ...passes import fold_constants
    from ...passes.dequantize import dequantize_graph
    from .graph_ops import RULES

    graph = fold_constants(dequantize_graph(copy.deepcopy(graph)))
    missing = sorted({op.type for op in graph.ops if op.type not in RULES})
    if missing:
        where = ", ".join(sorted({op.label for op in graph.ops if op.type in missing})[:5])
        raise UnsupportedOpError(f"no TF.js mapping for {', '.join(missing)} (at {where})")
    em = Emitter(graph)
    outputs = {name: em.name(name) for name in graph.outputs}  # the clean names go to outputs
    signature = {"inputs": {}, "outputs": {}}
    for name in graph.inputs:
        t = graph.tensors[name]
        node = em.node("Placeholder", [], name, {"dtype": a_type(t.dtype),
                                                 "shape": a_shape(t.shape)}, dtype=None)
        em.set(name, node)
        signature["inputs"][node] = _tensor_info(node, t)
    for op in graph.topological_order():
        RULES[op.type](em, op)
    for name, node in outputs.items():
        t = graph.tensors[name]
        em.nodes.append({"name": node, "op": "Identity", "input": [em.ref(name)],
                         "attr": {"T": a_type(t.dtype)}})
        signature["outputs"][node] = _tensor_info(node, t)
    topology = {"node": em.nodes, "library": {}, "versions": {"producer": 1982}}
    return topology, em.weights, signature


def _tensor_info(node: str, tensor) -> dict:
    return {"name": f"{node}:0", "dtype": tf_dtype(tensor.dtype),
            "tensorShape": a_shape(tensor.shape)["shape"]}


def graph_model_json(topology: dict, manifest: list[dict], signature: dict,
                     metadata: dict | None = None) -> dict:
    model = {"format": "graph-model", "generatedBy": f"edgeport {__version__}",
             "convertedBy": f"edgeport {__version__}", "modelTopology": topology,
             "weightsManifest": manifest, "signature": signature}
    if metadata:
        model["userDefinedMetadata"] = metadata
    return model
