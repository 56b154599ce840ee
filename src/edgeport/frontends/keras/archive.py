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
import re
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ...errors import ModelFormatError

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
MODEL_CLASSES = ("Functional", "Sequential", "Model")


def is_model(layer_config: dict) -> bool:
    return layer_config.get("class_name") in MODEL_CLASSES


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


def layer_name(layer_config: dict) -> str:
    return layer_config.get("config", {}).get("name") or layer_config.get("name", "?")


def to_snake_case(name: str) -> str:
    """Keras's naming.to_snake_case, which keys each layer's group in model.weights.h5."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


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
            config = _check_model_config(_json(archive.read("config.json"), source), source)
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
    return KerasModel(_check_model_config(config, source), weights, source)


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
        sub = group[member]
        if is_model(layer):
            _read_v3_weights(layer, sub, path, out, source)
            continue
        variables = sub.get("vars")
        if variables is None:
            out[path] = []
            continue
        stored = variables.attrs.get("name")
        if stored is not None and _text(stored) != path[-1]:
            raise ModelFormatError(f"{source}: model.weights.h5 holds the weights of layer "
                                   f"{_text(stored)!r} where the config has {path[-1]!r}")
        out[path] = [np.asarray(variables[str(i)]) for i in range(len(variables))]


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
        config = _check_model_config(_json(store.attrs["model_config"], source), source)
        if "model_weights" not in store:
            raise ModelFormatError(f"{source}: the model_weights group is missing")
        weights: dict[LayerPath, list[np.ndarray]] = {}
        _read_legacy_weights(config, store["model_weights"], weights, source)
    return KerasModel(_check_model_config(config, source), weights, source)


def _read_legacy_weights(model_config, group, out, source) -> None:
    """Each top-level layer has a group named after it whose ``weight_names`` attribute lists
    its arrays in order. A nested model's arrays all sit in its group, named
    ``[model/]layer/variable[:0]``; they are handed to its layers by layer name."""
    for layer in child_layers(model_config):
        name = layer_name(layer)
        if name not in group:
            out[(name,)] = []
            continue
        names = [_text(n) for n in group[name].attrs.get("weight_names", [])]
        try:
            arrays = [np.asarray(group[name][n]) for n in names]
        except KeyError as exc:
            raise ModelFormatError(f"{source}: weights of layer {name!r} are missing "
                                   f"({exc})") from exc
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
    source = f"keras model {getattr(model, 'name', '?')!r}"
    return KerasModel(_check_model_config(config, source), weights, source)


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


def _check_model_config(config, source) -> dict:
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ModelFormatError(f"{source}: the model config is not a Keras model description")
    return config


def _json(data, source):
    try:
        return json.loads(_text(data))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{source}: the model config is not valid JSON ({exc})") from exc


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return _text(value.item())
    return str(value)


def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - a dependency of edgeport
        raise ModelFormatError("reading Keras weights needs h5py (pip install h5py)") from exc
    return h5py
