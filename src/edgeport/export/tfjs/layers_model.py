"""Keras model -> TF.js layers model: the Keras 2 style topology tfjs-layers 4.22 deserializes.

tfjs-layers reads Keras 2 configs only (shared/reference/tfjs.md). From a Keras 3 (or Keras 2)
config this writes:
- InputLayer with ``batch_input_shape`` (Keras 3 says ``batch_shape``);
- ``dtype`` as a string (Keras 3 writes a DTypePolicy object);
- Functional ``inbound_nodes`` as nested lists ``[[[layer, node, tensor, {}], ...]]`` (Keras 3
  writes ``{"args": [__keras_tensor__...], "kwargs": ...}``);
- no ``module``/``registered_name``/``build_config``/``compile_config``, no optimizer state;
- activations renamed where tfjs's names differ (``silu`` -> ``swish``), and refused where the
  same name means another function (Keras 3's ``hard_sigmoid`` is relu6(x+3)/6, tfjs's is
  0.2x+0.5);
- initializers as Zeros and no regularizers/constraints: the weights are loaded over whatever
  the initializers make, and Zeros is the cheapest and is registered in every tfjs version.

Weights are named ``<layer>/<weight>`` with tfjs's weight names per layer class (tfjs matches
them by name, container.ts loadWeights; a model-name prefix or a trailing number segment breaks
the matching). Layers tfjs lacks (or options it does not implement) raise UnsupportedLayerError
naming every one of them; `export_web` then falls back to a graph model.
"""

from __future__ import annotations

from ... import __version__
from ...errors import UnsupportedLayerError
from .keras_json import Unreadable, clean, endpoints, inbound_node
from .weights import Weight
from ...frontends.keras.archive import KerasModel, is_model, is_operation, layer_name
from ...frontends.keras.cells import layer_of_cell

# Keras activation name -> tfjs's (tfjs-layers/src/activations.ts); others are refused
ACTIVATIONS = {name: name for name in (
    "linear", "relu", "relu6", "elu", "selu", "sigmoid", "softmax", "log_softmax", "softplus",
    "softsign", "tanh", "swish", "mish", "gelu")}
ACTIVATIONS["silu"] = "swish"

_CONV_WEIGHTS = ["kernel", "bias"]
_RECURRENT_WEIGHTS = ["kernel", "recurrent_kernel", "bias"]
# tfjs layer class -> its weights' names in creation order (None: a layer without weights)
LAYERS: dict[str, list[str] | None] = {
    "InputLayer": None, "Dense": ["kernel", "bias"], "Activation": None, "Dropout": None,
    "SpatialDropout1D": None, "Flatten": None, "Reshape": None, "Permute": None,
    "RepeatVector": None, "Masking": None, "Embedding": ["embeddings"],
    "Conv1D": _CONV_WEIGHTS, "Conv2D": _CONV_WEIGHTS, "Conv3D": _CONV_WEIGHTS,
    "Conv2DTranspose": _CONV_WEIGHTS, "Conv3DTranspose": _CONV_WEIGHTS,
    "DepthwiseConv2D": ["depthwise_kernel", "bias"],
    "SeparableConv2D": ["depthwise_kernel", "pointwise_kernel", "bias"],
    "Cropping2D": None, "UpSampling2D": None, "ZeroPadding2D": None,
    "MaxPooling1D": None, "MaxPooling2D": None, "MaxPooling3D": None,
    "AveragePooling1D": None, "AveragePooling2D": None, "AveragePooling3D": None,
    "GlobalMaxPooling1D": None, "GlobalMaxPooling2D": None,
    "GlobalAveragePooling1D": None, "GlobalAveragePooling2D": None,
    "BatchNormalization": [], "LayerNormalization": [],  # names depend on center/scale
    "ReLU": None, "LeakyReLU": None, "PReLU": ["alpha"], "ELU": None, "ThresholdedReLU": None,
    "Softmax": None, "Add": None, "Multiply": None, "Average": None, "Maximum": None,
    "Minimum": None, "Concatenate": None, "Dot": None, "GaussianNoise": None,
    "GaussianDropout": None, "AlphaDropout": None, "Rescaling": None,
    # recurrent layers: their cell's weights, named after the layer (tfjs drops the cell's
    # name from Keras' layer/cell/weight); GRU only with reset_after=False (see _adapt)
    "LSTM": _RECURRENT_WEIGHTS, "GRU": _RECURRENT_WEIGHTS, "SimpleRNN": _RECURRENT_WEIGHTS,
    "TimeDistributed": [], "Bidirectional": [],  # their layer's weights (_weight_names)
}
WRAPPERS, RECURRENT = ("TimeDistributed", "Bidirectional"), ("LSTM", "GRU", "SimpleRNN")
# Layers tfjs 4.22 registers but computes differently from Keras: refused, with the reason
MISMATCHED = {
    "CenterCrop": "tfjs's CenterCrop overwrites its input's shape and samples with "
                  "cropAndResize",
    "Resizing": "tfjs's Resizing aligns corners where Keras uses half-pixel centers"}
# Keras class names that tfjs knows under another name (identical at inference)
RENAMED = {"MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D",
           "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D",
           "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool2D": "GlobalMaxPooling2D",
           "GlobalAvgPool1D": "GlobalAveragePooling1D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
           "SpatialDropout2D": "Dropout", "SpatialDropout3D": "Dropout"}



def export_layers_model(model: KerasModel) -> tuple[dict, list[Weight], dict]:
    """(model.json without its manifest, weights, demo info); UnsupportedLayerError names every
    layer tfjs cannot rebuild."""
    top = model.config
    kind = top.get("class_name")
    config = top.get("config", {})
    problems: list[str] = []
    layers: list[dict] = []
    weights: list[Weight] = []
    for layer in config.get("layers", []):
        converted = _convert_layer(layer, kind, problems)
        if converted is None:
            continue
        layers.append(converted)
        arrays = model.weights.get((layer_name(layer),), [])
        names = _weight_names(converted, len(arrays), problems)
        weights.extend(Weight(f"{converted['config']['name']}/{n}", a)
                       for n, a in zip(names, arrays))
    if kind == "Sequential":
        if not layers or layers[0]["class_name"] != "InputLayer":
            shape = config.get("build_input_shape")
            if shape is None:
                problems.append("the Sequential model has no input shape (build it first)")
            else:
                layers.insert(0, {"class_name": "InputLayer", "config": {
                    "batch_input_shape": list(shape), "dtype": "float32", "sparse": False,
                    "name": f"{config.get('name', 'sequential')}_input"}})
        model_config = {"class_name": "Sequential",
                        "config": {"name": config.get("name", "sequential"), "layers": layers}}
    elif kind in ("Functional", "Model"):
        model_config = {"class_name": "Model", "config": {
            "name": config.get("name", "model"), "layers": layers,
            "input_layers": endpoints(config.get("input_layers", [])),
            "output_layers": endpoints(config.get("output_layers", []))}}
    else:
        problems.append(f"model class {kind!r}")
        model_config = {}
    if problems:
        raise UnsupportedLayerError(f"{model.source}: TF.js layers models cannot hold "
                                    f"{'; '.join(problems)}")
    model_json = {"format": "layers-model", "generatedBy": f"edgeport {__version__}",
                  "convertedBy": f"edgeport {__version__}",
                  "modelTopology": {"keras_version": "2.15.0", "backend": "tensorflow",
                                    "model_config": model_config}}
    inputs = [{"name": layer["config"]["name"],
               "shape": [-1 if d is None else d for d in layer["config"]["batch_input_shape"]],
               "dtype": layer["config"].get("dtype", "float32")}
              for layer in layers if layer["class_name"] == "InputLayer"]
    return model_json, weights, {"format": "layers-model", "inputs": inputs, "outputs": []}


def _convert_layer(layer: dict, model_kind: str, problems: list[str]) -> dict | None:
    name = layer_name(layer)
    cls = layer.get("class_name", "?")
    if is_model(layer):
        problems.append(f"nested model {name!r} ({cls})")
        return None
    if is_operation(layer):
        problems.append(f"keras.ops operation {name!r} ({cls})")
        return None
    if cls == "RNN" and layer_of_cell(layer.get("config", {})) is not None:
        layer = {**layer, **layer_of_cell(layer["config"])}  # tfjs's LSTM etc. of its cell
        cls = layer["class_name"]
    cls = RENAMED.get(cls, cls)
    if cls in MISMATCHED:
        problems.append(f"layer {name!r} ({cls}: {MISMATCHED[cls]})")
        return None
    if cls not in LAYERS:
        problems.append(f"layer {name!r} ({cls}, which TF.js does not implement)")
        return None
    try:
        config = clean(layer.get("config", {}))
    except Unreadable as exc:
        problems.append(f"layer {name!r} ({cls}: {exc})")
        return None
    config["name"] = name
    reason = _adapt(cls, config, layer.get("build_config") or {})
    if reason:
        problems.append(f"layer {name!r} ({cls}: {reason})")
        return None
    out = {"class_name": cls, "config": config, "name": name}
    if model_kind != "Sequential":
        out["inbound_nodes"] = [inbound_node(n) for n in layer.get("inbound_nodes", [])]
    return out


def _adapt(cls: str, config: dict, build_config: dict) -> str | None:
    """Make one layer's config what tfjs expects; returns why it cannot be, or None.

    Besides options tfjs refuses outright, this refuses those it accepts but does not honour
    in 4.22 (found by tests/tfjs/test_layer_coverage.py): DepthwiseConv2D and Conv2DTranspose
    ignore dilation_rate (the latter output_padding too), BatchNormalization's CPU kernel
    broadcasts the statistics along the last axis only, ELU refuses alpha != 1 at load, Conv1D
    refuses causal padding at predict, UpSampling2D's bilinear mode samples without
    half-pixel centers."""
    if isinstance(config.get("dtype"), dict):
        config["dtype"] = "float32"
    if "activation" in config:
        activation = config["activation"]
        if isinstance(activation, dict):  # a serialized function: {"config": name}
            activation = activation.get("config", activation.get("class_name"))
        if activation not in ACTIVATIONS:
            return f"activation {activation!r}"
        config["activation"] = ACTIVATIONS[activation]
    if cls == "InputLayer":
        shape = config.pop("batch_shape", None) or config.get("batch_input_shape")
        if shape is None and config.get("input_shape") is not None:
            shape = [config.get("batch_size"), *config["input_shape"]]
        if shape is None:
            return "no input shape"
        if config.pop("ragged", False):
            return "ragged input"
        config.pop("optional", None)
        config["batch_input_shape"] = list(shape)
        config.setdefault("sparse", False)
    if config.get("groups", 1) != 1:
        return f"groups={config['groups']}"
    if cls == "LeakyReLU" and "negative_slope" in config:
        config["alpha"] = config.pop("negative_slope")
    if cls == "ReLU" and (config.get("negative_slope") or config.get("threshold")):
        return "negative_slope/threshold"
    if cls.startswith("Global") and config.get("keepdims"):
        return "keepdims=True"
    if cls == "Softmax" and config.get("axis", -1) not in (-1, [-1]):
        return f"axis={config['axis']} (tfjs's softmax takes the last axis only)"
    if cls == "LayerNormalization" and config.get("rms_scaling"):
        return "rms_scaling=True"
    if cls == "BatchNormalization" and config.get("renorm"):
        return "renorm=True"
    if cls == "BatchNormalization" and not _is_last_axis(config.get("axis", -1), build_config):
        return f"axis={config['axis']} (tfjs normalizes over the last axis only)"
    if cls in ("DepthwiseConv2D", "Conv2DTranspose") and _dilated(config):
        return f"dilation_rate={config['dilation_rate']}"
    if cls == "Conv2DTranspose" and config.get("output_padding") is not None:
        return f"output_padding={config['output_padding']}"
    if cls == "ELU" and float(config.get("alpha", 1.0)) != 1.0:
        return f"alpha={config['alpha']} (tfjs's ELU has alpha=1 only)"
    if cls == "Conv1D" and config.get("padding") == "causal":
        return "padding='causal'"
    if cls == "UpSampling2D" and config.get("interpolation", "nearest") != "nearest":
        return (f"interpolation={config['interpolation']!r} (tfjs samples without "
                "half-pixel centers)")
    if cls in ("Dropout",) and "noise_shape" in config and config["noise_shape"] is None:
        config.pop("noise_shape")
    if cls == "GRU" and config.get("reset_after", True):
        return "reset_after=True (tfjs's GRU has reset_after=False only)"
    if cls in WRAPPERS:
        return _adapt_wrapper(cls, config)
    return None


def _adapt_wrapper(cls: str, config: dict) -> str | None:
    """A wrapper's layer made what tfjs expects, as a layer of its own would be. tfjs's
    Bidirectional makes the backward layer from the forward one and names the two
    ``forward_<name>`` and ``backward_<name>``."""
    inner = config.get("layer")
    if not isinstance(inner, dict):
        return "no wrapped layer"
    if inner.get("class_name") == "RNN" and layer_of_cell(inner.get("config", {})):
        inner.update(layer_of_cell(inner["config"]))
    inner_cls = RENAMED.get(inner.get("class_name"), inner.get("class_name"))
    allowed = RECURRENT if cls == "Bidirectional" else [c for c in LAYERS if c not in WRAPPERS]
    if inner_cls not in allowed or inner_cls in MISMATCHED:
        return f"it wraps a {inner_cls}"
    inner["class_name"] = inner_cls
    inner.setdefault("config", {})
    if cls == "Bidirectional":
        if not _mirrors(config.pop("backward_layer", None), inner):
            return "a backward_layer of its own (tfjs makes it from the forward layer)"
        name = str(inner["config"].get("name", "layer"))
        inner["config"]["name"] = name.removeprefix("forward_")
    reason = _adapt(inner_cls, inner["config"], {})
    return f"its {inner_cls}: {reason}" if reason else None


def _mirrors(backward, forward: dict) -> bool:
    """Whether a Bidirectional's ``backward`` layer (Keras 3 always writes one) is what tfjs
    makes from the ``forward`` one: the same layer and options, go_backwards flipped."""
    if backward is None:
        return True
    if isinstance(backward, dict) and backward.get("class_name") == "RNN":
        backward = layer_of_cell(clean(backward.get("config", {})))
    if not isinstance(backward, dict) or backward.get("class_name") != forward["class_name"]:
        return False
    mine, theirs = ({k: v for k, v in c.items() if k != "name"}
                    for c in (backward.get("config", {}), forward["config"]))
    return mine.pop("go_backwards", False) != theirs.pop("go_backwards", False) and \
        clean(mine) == theirs


def _is_last_axis(axis, build_config: dict) -> bool:
    """Whether ``axis`` (an int or a one-element list) is the input's last axis; a positive
    axis counts only when the input's rank is known (Keras 3's build_config)."""
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    if axis == -1:
        return True
    shape = build_config.get("input_shape")
    return isinstance(axis, int) and isinstance(shape, (list, tuple)) and axis == len(shape) - 1


def _dilated(config: dict) -> bool:
    rate = config.get("dilation_rate", 1)
    return any(r != 1 for r in (rate if isinstance(rate, (list, tuple)) else [rate]))


def _weight_names(layer: dict, count: int, problems: list[str]) -> list[str]:
    cls, config = layer["class_name"], layer["config"]
    if cls == "TimeDistributed":  # the wrapped layer's weights, in the wrapper's name scope
        return _weight_names({**config["layer"], "config": {**config["layer"]["config"],
                                                             "name": config["name"]}},
                             count, problems)
    if cls == "Bidirectional":  # forward_<layer>/..., then backward_<layer>/...
        inner = config["layer"]
        half = _weight_names(inner, count // 2, problems)
        return [f"{direction}_{inner['config']['name']}/{n}"
                for direction in ("forward", "backward") for n in half]
    names = LAYERS.get(cls)
    if cls in ("BatchNormalization", "LayerNormalization"):
        names = ((["gamma"] if config.get("scale", True) else [])
                 + (["beta"] if config.get("center", True) else [])
                 + (["moving_mean", "moving_variance"] if cls == "BatchNormalization" else []))
    names = names or []
    if count > len(names) or (cls in ("BatchNormalization", "LayerNormalization")
                              and count != len(names)):
        problems.append(f"layer {config['name']!r} ({cls}: {count} weights where TF.js has "
                        f"{len(names)})")
        return []
    return names[:count]
