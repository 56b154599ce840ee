"""Keras 3 config JSON as tfjs-layers reads it (Keras 2 style): values cleaned of what Keras 3
adds, inbound nodes and model endpoints as nested lists (layers_model.py writes the model)."""

from __future__ import annotations

DROPPED_KEYS = {"module", "registered_name", "build_config", "compile_config",
                "shared_object_id"}


class Unreadable(Exception):
    """A config value that has no TF.js form (a damaged file): the layer is refused."""


def clean(value):
    """Drop Keras-3-only keys and turn DTypePolicy objects into dtype strings, recursively."""
    if isinstance(value, list):
        return [clean(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        policy = value.get("config", {})
        dtype = policy.get("name", "float32") if isinstance(policy, dict) else None
        if not isinstance(dtype, str):
            raise Unreadable(f"its dtype policy {policy!r} names no dtype")
        return dtype
    out = {}
    for key, item in value.items():
        if key in DROPPED_KEYS:
            continue
        if key.endswith("_initializer"):
            item = {"class_name": "Zeros", "config": {}}
        elif key.endswith(("_regularizer", "_constraint")):
            item = None
        out[key] = clean(item)
    return out


def inbound_node(node) -> list:
    """One inbound node as Keras 2's list of [layer, node_index, tensor_index, {}]."""
    if isinstance(node, list):  # already Keras 2 style
        return [[*entry[:3], {}] for entry in node]
    entries: list = []

    def collect(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            entries.append([*value["config"]["keras_history"][:3], {}])
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)

    collect(node.get("args", []))
    return entries


def endpoints(value) -> list:
    """input_layers/output_layers as a list of [layer, node, tensor] (Keras 3 writes a single
    endpoint as a flat triple)."""
    if value and isinstance(value[0], str):
        return [list(value[:3])]
    return [list(v[:3]) for v in value]
