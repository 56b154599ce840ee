"""Read a Keras model's architecture and weights without importing Keras or TensorFlow.

Three sources give the same `KerasModel` (a config dict as Keras serializes it, and the
weights of every layer keyed by its path of layer names from the top model):
- a Keras 3 ``.keras`` archive: a zip holding ``config.json`` and ``model.weights.h5``;
- a legacy ``.h5`` full-model file (Keras 2 or Keras 3 writer): the ``model_config`` attribute
  and the ``model_weights`` group;
- a live ``keras.Model``, through Keras's public API (serialize_keras_object, get_weights).

Nothing from a file is ever executed: the config is plain JSON that the layer rules read as
data, pickles and other archive members are never opened, and Lambda layers' serialized code
is refused later by the topology walk, never deserialized.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ...errors import ModelFormatError
from .fields import DAMAGED
from .schema import check_model_config, is_model, layer_name, to_snake_case

LayerPath = tuple[str, ...]


@dataclass
class KerasModel:
    """A model as data: ``config`` is the serialized model (``{"class_name", "config"}``) and
    ``weights[path]`` the arrays of the layer at ``path`` in Keras's weight order (trainable
    then non-trainable, each in creation order: kernel, bias; gamma, beta, mean, variance)."""

    config: dict
    weights: dict[LayerPath, list[np.ndarray]] = field(default_factory=dict)
    source: str = "model"


# -- model configs ----------------------------------------------------------------------------
def is_operation(layer_config: dict) -> bool:
    """A keras.ops operation recorded in a Functional model (``x + 3.0`` -> ``Add``): module
    ``keras.src.ops.*`` in .keras files; Keras 3's legacy .h5 files drop the module, but an
    operation's config is only its name (every layer's also has trainable, dtype...), and
    its calls are Keras 3 ``{"args": ...}`` nodes."""
    module = str(layer_config.get("module") or "")
    if module:
        return module.startswith("keras.src.ops.")
    nodes = layer_config.get("inbound_nodes") or []
    return (set(layer_config.get("config", {})) <= {"name"} and bool(nodes)
            and all(isinstance(node, dict) for node in nodes)
            and not is_model(layer_config) and layer_config.get("class_name") != "InputLayer")


def child_layers(model_config: dict) -> list[dict]:
    """The layers of a model config, in ``model.layers`` order (how Keras keys its weights):
    a Sequential's InputLayer is not one of its ``layers``, a Functional's is."""
    layers = model_config.get("config", {}).get("layers", [])
    if model_config.get("class_name") == "Sequential":
        layers = [layer for layer in layers if layer.get("class_name") != "InputLayer"]
    return layers


# -- .keras archives --------------------------------------------------------------------------
def read_keras_archive(path: str | os.PathLike) -> KerasModel:
    """Read a Keras 3 ``.keras`` zip. Only config.json and model.weights.h5 are opened."""
    source = os.fspath(path)
    try:
        with zipfile.ZipFile(source) as archive:
            names = set(archive.namelist())
            for member in ("config.json", "model.weights.h5"):
                if member not in names:
                    raise ModelFormatError(f"{source}: not a Keras model archive, {member} is "
                                           "missing")
            config = check_model_config(_json(archive.read("config.json"), source), source)
            weights_file = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise ModelFormatError(f"{source}: not a readable .keras zip archive ({exc})") from exc
    h5py = _h5py()
    try:
        store = h5py.File(io.BytesIO(weights_file), "r")
    except OSError as exc:
        raise ModelFormatError(f"{source}: model.weights.h5 is not a readable HDF5 file "
                               f"({exc})") from exc
    with store:
        weights: dict[LayerPath, list[np.ndarray]] = {}
        _read_v3_weights(config, store, (), weights, source)
    return KerasModel(config, weights, source)


def _read_v3_weights(model_config, group, prefix, out, source) -> None:
    """Keras 3 keys each layer by its class name in snake case (``conv2d``, ``conv2d_1``...),
    numbered in ``model.layers`` order, under ``layers/``; its arrays are ``vars/0``, ``1``..."""
    used: dict[str, int] = {}
    for layer in child_layers(model_config):
        if is_operation(layer):
            # a keras.ops operation (x + 3.0) is no layer: not in model.layers, no weights
            out[(*prefix, layer_name(layer))] = []
            continue
        key = to_snake_case(layer.get("class_name", ""))
        used[key] = used.get(key, -1) + 1
        key = key if used[key] == 0 else f"{key}_{used[key]}"
        path = (*prefix, layer_name(layer))
        member = f"layers/{key}"
        if member not in group:
            out[path] = []  # a layer without state may have no group at all
            continue
        where = f"{source}: model.weights.h5, {member}"
        sub = _group(group[member], where)
        if is_model(layer):
            _read_v3_weights(layer, sub, path, out, source)
            continue
        variables = sub["vars"] if "vars" in sub else None
        stored = variables.attrs.get("name") if variables is not None else None
        # (a layer whose config has no name of its own was named by check_model_config)
        if stored is not None and "name" in layer.get("config", {}) and \
                _text(stored) != path[-1]:
            raise ModelFormatError(f"{where} holds the weights of layer {_text(stored)!r} "
                                   f"where the config has {path[-1]!r}")
        out[path] = _held_arrays(sub, where)


# The groups under which Keras 3 saves the layers a layer holds, in the order its weights list
# them: a wrapper's layer (TimeDistributed), its two directions (Bidirectional), an RNN's cell,
# an attention layer's projections.
HELD_LAYERS = ("layer", "forward_layer", "backward_layer", "cell", "query_dense", "key_dense",
               "value_dense", "output_dense")


def _held_arrays(group, where: str) -> list[np.ndarray]:
    """A layer's arrays: its own ``vars``, then those of the layers it holds."""
    arrays = []
    if "vars" in group:
        variables = _group(group["vars"], f"{where}/vars")
        arrays += [_array(variables, str(i), f"{where}/vars") for i in range(len(variables))]
    for held in HELD_LAYERS:
        if held in group:
            arrays += _held_arrays(_group(group[held], f"{where}/{held}"), f"{where}/{held}")
    return arrays


# -- legacy .h5 -------------------------------------------------------------------------------
def read_h5_model(path: str | os.PathLike) -> KerasModel:
    """Read a full-model ``.h5`` file written by Keras 2 (tf.keras) or Keras 3."""
    source = os.fspath(path)
    h5py = _h5py()
    try:
        store = h5py.File(source, "r")
    except OSError as exc:
        raise ModelFormatError(f"{source}: not a readable HDF5 file ({exc})") from exc
    with store:
        if "model_config" not in store.attrs:
            raise ModelFormatError(f"{source}: no model_config attribute; this is a weights-only "
                                   "file or not a Keras model (save the whole model)")
        config = check_model_config(_json(store.attrs["model_config"], source), source)
        if "model_weights" not in store:
            raise ModelFormatError(f"{source}: the model_weights group is missing")
        weights: dict[LayerPath, list[np.ndarray]] = {}
        _read_legacy_weights(config, _group(store["model_weights"], f"{source}: model_weights"),
                             weights, source)
    return KerasModel(config, weights, source)


def _read_legacy_weights(model_config, group, out, source) -> None:
    """Each top-level layer has a group named after it whose ``weight_names`` attribute lists
    its arrays in order. A nested model's arrays all sit in its group, named
    ``[model/]layer/variable[:0]``; they are handed to its layers by layer name."""
    for layer in child_layers(model_config):
        name = layer_name(layer)
        if name not in group:
            out[(name,)] = []
            continue
        where = f"{source}: weights of layer {name!r}"
        layer_group = _group(group[name], where)
        names = _weight_names(layer_group.attrs.get("weight_names"), where)
        arrays = [_array(layer_group, n, where) for n in names]
        if is_model(layer):
            _distribute_nested(layer, (name,), list(zip(names, arrays)), out)
        else:
            out[(name,)] = arrays


def _distribute_nested(model_config, prefix, named, out) -> None:
    for layer in child_layers(model_config):
        name = layer_name(layer)
        if is_model(layer):
            _distribute_nested(layer, (*prefix, name), named, out)
            continue
        # the path component before the variable name is the owning layer's name
        out[(*prefix, name)] = [a for n, a in named
                                if len(n.split("/")) >= 2 and n.split("/")[-2] == name]


# -- live models ------------------------------------------------------------------------------
def read_live_model(model) -> KerasModel:
    """A live Keras 3 model, read through the public API only; works on any backend."""
    import keras  # only ever imported when handed a live model

    if not isinstance(model, keras.Model):
        raise ModelFormatError(f"a {type(model).__name__} is not a Keras 3 model (keras.Model); "
                               "pass one, or a .keras/.h5 file to from_keras_file")
    config = keras.saving.serialize_keras_object(model)
    config = json.loads(json.dumps(config, default=_json_default))  # plain data, as in a file
    weights: dict[LayerPath, list[np.ndarray]] = {}

    def walk(container, prefix):
        for layer in container.layers:
            path = (*prefix, layer.name)
            if isinstance(layer, keras.Model) and hasattr(layer, "layers"):
                walk(layer, path)
            else:
                weights[path] = [np.asarray(w) for w in layer.get_weights()]

    walk(model, ())
    _name_as_live(config, model)
    source = f"keras model {model.name!r}"
    return KerasModel(check_model_config(config, source), weights, source)


def _name_as_live(config: dict, layer) -> None:
    """Give the config entries that hold no name (a subclassed model's get_config has none;
    a Sequential writes no other) the live layers' names, so that messages name them."""
    if layer_name(config) is None:
        config["name"] = layer.name
    if not is_model(config):
        return
    if config["class_name"] == "Sequential":
        pairs = zip(child_layers(config), layer.layers)
    else:
        live = {child.name: child for child in layer.layers}
        pairs = ((entry, live[layer_name(entry)]) for entry in child_layers(config)
                 if layer_name(entry) in live)
    for entry, child in pairs:
        _name_as_live(entry, child)


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


# -- helpers ----------------------------------------------------------------------------------
def read_keras_file(path: str | os.PathLike) -> KerasModel:
    """A ``.keras`` archive or ``.h5`` file, told apart by content, not by extension."""
    source = os.fspath(path)
    try:
        with open(source, "rb") as f:
            magic = f.read(8)
    except OSError as exc:
        raise ModelFormatError(f"{source}: cannot be read ({exc.strerror or exc})") from exc
    if magic.startswith(b"PK"):
        return read_keras_archive(source)
    if magic == b"\x89HDF\r\n\x1a\n":
        return read_h5_model(source)
    raise ModelFormatError(f"{source}: neither a .keras archive (zip) nor a Keras .h5 (HDF5) "
                           "file")


def _json(data, source):
    text = _text(data)
    if text is None:
        raise ModelFormatError(f"{source}: the model config is {type(data).__name__}, not JSON "
                               "text")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ModelFormatError(f"{source}: the model config is not valid JSON ({exc})") from exc


def _text(value) -> str | None:
    """An HDF5 attribute or zip member as text (str, UTF-8 bytes, or a one-element array of
    either); None when it is not text."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def _weight_names(value, where: str) -> list[str]:
    """A legacy .h5 layer group's ``weight_names`` attribute: a list of array names (Keras
    writes an empty float array for a layer without weights)."""
    if value is None:
        return []
    array = np.asarray(value) if isinstance(value, (np.ndarray, list)) else None
    if array is not None and array.size == 0:
        return []
    names = [_text(n) for n in array] if array is not None and array.ndim == 1 else [None]
    if None in names:
        raise ModelFormatError(f"{where}: the weight_names attribute is {value!r}, not a list "
                               f"of names ({DAMAGED})")
    return names


def _group(node, where: str):
    """``node`` if it is an HDF5 group (h5py's Group), else ModelFormatError."""
    if not hasattr(node, "keys"):
        raise ModelFormatError(f"{where} is not an HDF5 group ({DAMAGED})")
    return node


def _array(group, name: str, where: str) -> np.ndarray:
    """The numeric dataset ``name`` of ``group``, read into memory."""
    node = group.get(name) if name else None
    if node is None or hasattr(node, "keys") or node.dtype.kind not in "biuf":
        raise ModelFormatError(f"{where}: weight {name!r} is missing or not a numeric array "
                               f"({DAMAGED})")
    return np.asarray(node)


def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - a dependency of edgeport
        raise ModelFormatError("reading Keras weights needs h5py (pip install h5py)") from exc
    return h5py
