"""The node and weight builder of the TF.js graph-model exporter, and the proto3-JSON attr
values its nodes carry.

A graph model is a TensorFlow GraphDef in proto3 JSON: each node is ``{"name", "op", "input",
"attr"}``, an attr value is a one-key dict (``{"i": "3"}``, ``{"list": {"s": [...]}}``...) with
int64s as strings and strings base64-encoded, as protobuf's JSON mapping writes them. The op
rules (`graph_rules`) build their nodes through an `Emitter`, which names them uniquely and keeps
every constant's value for the weight shards.
"""

from __future__ import annotations

import base64
import re

import numpy as np

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


# -- which IR op a node stands for --------------------------------------------------------------
def out(op) -> str:
    """The IR tensor an op's rule defines: its first output."""
    return op.outputs[0]


def base(op) -> str:
    """The name an op's nodes are named from: its origin (the layer the user wrote), else its
    first output. The node computing the op's result gets this name (made unique) and its
    helper nodes ``<base>/kernel``, ``<base>/bias``..., so the model.json reads like the model."""
    return op.origin or out(op)


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
