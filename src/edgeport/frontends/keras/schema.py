"""Check the structure of a Keras model config before anything walks it.

The weight readers (archive.py) and the topology walk rely on what Keras always writes: a
model is ``{"class_name", "config": {"layers": [...]}}``; every layer a dict with a string
class_name and name and a dict config; a Functional model's calls (``inbound_nodes``) refer
to tensors as ``[layer name, node index, tensor index]`` (Keras 3 wraps each in a
``__keras_tensor__`` dict's ``keras_history``), and its input_layers and output_layers name
its own layers. `check_model_config` checks all of it, nested models included, and refuses
with a ModelFormatError naming the file, the layer and the field; `node_refs` and `endpoints`
read those references for the walk once they are known to be well formed.

A layer entry may hold no name at all: a Sequential's entries carry only their config's, and a
subclassed model's config has none. Such a layer is named as Keras names it when it loads the
file (its class in snake case, numbered when taken), so that messages can name it.
"""

from __future__ import annotations

import re

from ...errors import ModelFormatError
from .fields import DAMAGED, field_error, is_int

MODEL_CLASSES = ("Functional", "Sequential", "Model")
KERAS_TENSOR = "__keras_tensor__"

Ref = tuple[str, int, int]  # (layer name, node index, tensor index)


def is_model(layer_config: dict) -> bool:
    return layer_config.get("class_name") in MODEL_CLASSES


def layer_name(layer_config: dict) -> str | None:
    """The layer's name: its config's (Keras 3, Keras 2) or the entry's own (Keras 3 writes
    both); None when neither is a name (a subclassed model's config holds none)."""
    config = layer_config.get("config")
    for name in (config.get("name") if isinstance(config, dict) else None,
                 layer_config.get("name")):
        if isinstance(name, str) and name:
            return name
    return None


def to_snake_case(name: str) -> str:
    """Keras's naming.to_snake_case: a layer's default name, and its weights' group key in
    model.weights.h5."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def check_model_config(config, source: str) -> dict:
    """``config`` itself once its structure is what the readers and the walk expect."""
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict) \
            or not isinstance(config.get("class_name"), str):
        raise ModelFormatError(f"{source}: the model config is not a Keras model description "
                               f"({DAMAGED})")
    if is_model(config):
        _check_model(config, source, f"{source}: model {layer_name(config) or '(top)'!r}")
    return config


def _check_model(model: dict, source: str, where: str) -> None:
    layers = model["config"].get("layers")
    if not isinstance(layers, list):
        raise field_error(where, "layers", layers, "a list of layers")
    names = [_check_layer(layer, i, where) for i, layer in enumerate(layers)]
    for i, layer in enumerate(layers):
        if names[i] is None:
            names[i] = layer["name"] = _default_name(layer["class_name"], names)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ModelFormatError(f"{where}: several layers are named {', '.join(repeated)} "
                               f"({DAMAGED})")
    for layer, name in zip(layers, names):
        layer_where = f"{source}: layer {name!r} ({layer['class_name']})"
        if model["class_name"] != "Sequential":
            for k, node in enumerate(_nodes(layer, layer_where)):
                node_refs(node, layer_where, f"inbound_nodes[{k}]")
        if is_model(layer):
            _check_model(layer, source, layer_where)
    if model["class_name"] != "Sequential":
        for key in ("input_layers", "output_layers"):
            unknown = [name for name, _, _ in endpoints(model["config"].get(key), where, key)
                       if name not in names]
            if unknown:
                raise ModelFormatError(f"{where}: {key} names {', '.join(map(repr, unknown))}, "
                                       f"which is not one of its layers ({DAMAGED})")


def _check_layer(layer, index: int, where: str) -> str | None:
    """The name of the ``index``-th layer entry of a model (None if it has none), once the
    entry is a layer."""
    if not isinstance(layer, dict):
        raise field_error(where, f"layers[{index}]", layer, "a layer")
    cls = layer.get("class_name")
    if not isinstance(cls, str) or not cls:
        raise field_error(where, f"layers[{index}].class_name", cls, "a class name")
    if not isinstance(layer.get("config", {}), dict):
        raise field_error(f"{where}, layers[{index}] ({cls})", "config", layer["config"],
                          "an object")
    name = layer_name(layer)
    stored = [value for value in (layer.get("config", {}).get("name"), layer.get("name"))
              if value is not None]
    if name is None and stored:
        raise field_error(f"{where}, layers[{index}] ({cls})", "name", stored[0], "a name")
    return name


def _default_name(cls: str, taken: list) -> str:
    """Keras's name for a new layer of class ``cls`` that the model does not use yet."""
    base = to_snake_case(cls) or "layer"
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def _nodes(layer: dict, where: str) -> list:
    nodes = layer.get("inbound_nodes", [])
    if not isinstance(nodes, list):
        raise field_error(where, "inbound_nodes", nodes, "a list of calls")
    return nodes


def node_refs(node, where: str = "the model config", field: str = "inbound_nodes"
              ) -> list[Ref]:
    """The tensors one call reads, in order (a recurrent layer's initial states after its
    input). Keras 3 writes ``{"args": [...], "kwargs":
    {...}}`` with tensors as ``__keras_tensor__`` dicts anywhere in the args, Keras 2
    ``[[layer, node, tensor, kwargs], ...]``."""
    if isinstance(node, list):
        return [_ref(entry[:3] if isinstance(entry, list) else entry, where,
                     f"{field}[{i}]") for i, entry in enumerate(node)]
    if not isinstance(node, dict):
        raise field_error(where, field, node, "a call (an object or a list)")
    if not isinstance(node.get("kwargs", {}), dict):
        raise field_error(where, f"{field}.kwargs", node["kwargs"], "an object")
    found: list[Ref] = []

    def visit(value, path):
        if isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR:
            config = value.get("config")
            history = config.get("keras_history") if isinstance(config, dict) else None
            found.append(_ref(history, where, f"{path}.config.keras_history"))
        elif isinstance(value, dict):
            for key, v in value.items():
                visit(v, f"{path}.{key}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                visit(v, f"{path}[{i}]")

    args = node.get("args", [])
    if not isinstance(args, list):
        raise field_error(where, f"{field}.args", args, "a list")
    visit(args, f"{field}.args")
    # A recurrent layer's initial states follow its input (``layer(x, initial_state=[h, c])``)
    visit(node.get("kwargs", {}).get("initial_state", []), f"{field}.kwargs.initial_state")
    return found


def endpoints(value, where: str = "the model config", field: str = "input_layers"
              ) -> list[Ref]:
    """input_layers / output_layers: one ``[name, node, tensor]`` or a non-empty list."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise field_error(where, field, value, "a list of [layer, node, tensor]")
    return [_ref(v, where, f"{field}[{i}]") for i, v in enumerate(value)]


def _ref(value, where: str, field: str) -> Ref:
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and all(is_int(v) and v >= 0 for v in value[1:])):
        raise field_error(where, field, value, "[layer name, node index, tensor index]")
    return value[0], value[1], value[2]


__all__ = ["KERAS_TENSOR", "MODEL_CLASSES", "Ref", "check_model_config", "endpoints",
           "is_model", "layer_name", "node_refs"]
