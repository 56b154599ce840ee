"""IR graph -> TF.js graph model: a GraphDef in proto3 JSON whose nodes are TensorFlow ops that
tfjs-converter 4.22 executes, plus its weights.

Every IR tensor becomes a reference to a TF node output (``"node"`` or ``"node:1"``). Constants
become ``Const`` nodes whose values live in the weight shards under the node's name (tfjs looks
them up by name, operation_mapper.ts); inputs become ``Placeholder`` nodes and each graph output
an ``Identity`` node named after the output, listed in the ``signature``. The nodes are built
by an `emitter.Emitter`; the per-op rules are the table in `graph_rules`, where weights are
converted from TFLite layouts to TensorFlow's. This module assembles the model.json.
"""

from __future__ import annotations

import copy

from ... import __version__
from ...errors import UnsupportedOpError
from ...graph import Graph
from .emitter import Emitter, a_shape, a_type, tf_dtype
from .graph_rules import RULES
from .weights import Weight


def export_graph_model(graph: Graph) -> tuple[dict, list[Weight], dict]:
    """(modelTopology, weights, signature) of the TF.js graph model of ``graph``.

    TF.js computes in float32 only, so a quantized graph is exported as the float32 graph it
    approximates (passes.dequantize: compressed weights expanded, quantized tensors holding
    their real values), and constant subgraphs are folded, on a copy. Raises
    UnsupportedOpError naming every op that has no TF.js mapping.
    """
    from ...passes import fold_constants
    from ...passes.dequantize import dequantize_graph

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
