"""Walk a Keras model config (Sequential or Functional, nested models, shared layers, several
inputs and outputs) and build the IR graph by calling each layer's rule.

Before anything is built, every layer of every nested model is checked: Lambda layers, custom
or unknown classes and unsupported options (``data_format="channels_first"``) are collected
and refused together, in one `UnsupportedLayerError` naming each layer and its class. Options a
rule refuses while building are collected the same way; layers downstream of a refused one
are skipped, so one error still lists every refusal found. The config's structure was
checked when it was read (schema.py); the values the walk reads (input shapes and dtypes,
which output of a layer a call takes, how many tensors a layer is called on) are checked here,
and a damaged one raises ModelFormatError naming the file, the layer and the field.
"""

from __future__ import annotations

import numpy as np

from ...errors import ModelFormatError
from ...graph import Graph, Signature, Tensor
from ...ops import TensorSpec
from ..builder import check_size
from ..open_dims import PROBE, open_dimensions
from .archive import KerasModel, child_layers, is_model, layer_name
from .builder import LayerBuilder, Unsupported, unsupported_error
from .fields import DAMAGED, Fields
from .unsupported import no_rule_reason
from .layers import OPERATION_PREFIX, get_rule, rule_key
from .schema import KERAS_TENSOR, endpoints as _endpoints, node_refs as _refs

REFUSED = object()  # the outputs of a layer that could not be converted


def build_graph(model: KerasModel) -> Graph:
    """The IR graph of ``model``: inputs named after the Keras input layers, a
    ``serving_default`` signature keyed by the Keras input and output layer names."""
    problems = scan_layers(model.config)
    if problems:
        raise unsupported_error(model.source, problems)
    return _Walker(model).build()


def scan_layers(model_config: dict) -> list[tuple[str, str, str]]:
    """(name, class, reason) of every layer that no rule can convert, nested models included."""
    problems = []
    if not is_model(model_config):
        return [(layer_name(model_config), model_config["class_name"], SUBCLASSED)]
    for layer in model_config["config"].get("layers", []):
        name, cls = layer_name(layer), layer["class_name"]
        if is_model(layer):
            problems += scan_layers(layer)
            continue
        module = layer.get("module")
        cfg = layer.get("config", {})
        if cls in ("Lambda", "TFOpLambda", "SlicingOpLambda"):
            problems.append((name, cls, "Lambda layers hold Python code, which edgeport never "
                                        "runs; express it with built-in layers"))
        elif "compile_config" in layer:  # only models have one: a keras.Model subclass
            problems.append((name, cls, SUBCLASSED))
        elif layer.get("registered_name") not in (None, cls) or ">" in cls or (
                module is not None and not str(module).startswith("keras")):
            # (a legacy .h5 file writes a registered class as its "package>Name")
            problems.append((name, cls, "custom layer classes cannot be converted"))
        elif get_rule(rule_key(layer)) is None:
            problems.append((name, cls, no_rule_reason(rule_key(layer))))
        elif cfg.get("data_format") == "channels_first":
            problems.append((name, cls, "data_format='channels_first' is not supported; "
                                        "use channels_last"))
    return problems


SUBCLASSED = ("subclassed models hold Python code, which edgeport never runs (their config "
              "does not describe their layers); build the model as Sequential or Functional")

TENSOR = object()  # marks where a tensor stands among an operation's arguments


def _operation_args(node) -> list | None:
    """An operation call's positional arguments, TENSOR where a tensor stands and the Python
    value otherwise; None when the call is not one this frontend can read (keyword arguments,
    nested structures)."""
    if not isinstance(node, dict) or node.get("kwargs"):
        return None
    args = []
    for value in node.get("args", []):
        if isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR:
            args.append(TENSOR)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            args.append(value)
        else:
            return None
    return args


class _Walker:
    def __init__(self, model: KerasModel):
        self.model = model
        self.graph = Graph(name="main")
        self.specs: dict[str, TensorSpec] = {}
        self.dynamic: set[str] = set()
        self.open_inputs: dict[str, tuple[int, ...]] = {}  # built at PROBE (open_dims.py)
        self.problems: list[tuple[str, str, str]] = []

    def build(self) -> Graph:
        config = self.model.config
        inputs = self._model_inputs(config)
        outputs = self._call_model(config, (), [name for name, _ in inputs])
        if self.problems:
            raise unsupported_error(self.model.source, self.problems)
        g = self.graph
        g.inputs = [name for name, _ in inputs]
        g.outputs = list(outputs)
        open_dimensions(g, self.open_inputs, self.dynamic, self.model.source)
        output_keys = _unique(self._output_names(config, len(outputs)))
        g.signatures = [Signature("serving_default", {k: t for k, t in inputs},
                                  dict(zip(output_keys, g.outputs)))]
        return g

    # -- inputs -----------------------------------------------------------------------------
    def _model_inputs(self, config) -> list[tuple[str, str]]:
        """Create the graph inputs; returns (Keras input name, tensor name) pairs."""
        layers = config["config"].get("layers", [])
        if config["class_name"] == "Sequential":
            first = layers[0] if layers else {}
            if first.get("class_name") == "InputLayer":
                return [self._input(first)]
            shape = (config["config"].get("build_input_shape")
                     or first.get("config", {}).get("batch_input_shape")
                     or first.get("config", {}).get("batch_shape"))
            if shape is None:
                raise ModelFormatError(f"{self.model.source}: the Sequential model has no "
                                       "input shape (build it or start it with keras.Input)")
            return [self._input({"class_name": "InputLayer",
                                 "config": {"name": "input", "batch_shape": shape}})]
        by_name = {layer_name(layer): layer for layer in layers}
        return [self._input(by_name[name])
                for name, _, _ in _endpoints(config["config"]["input_layers"])]

    def _input(self, layer) -> tuple[str, str]:
        """A graph input from an InputLayer's config: its batch shape (Keras 3 batch_shape,
        Keras 2 batch_input_shape; other unknown dims are built at `PROBE` and opened after the
        walk, `open_dimensions`) and dtype
        (int32, int64 and bool kept, anything else float32)."""
        name = layer_name(layer)
        cfg = Fields(layer.get("config", {}), f"{self.model.source}: layer {name!r} "
                                              "(InputLayer)")
        key = "batch_shape" if cfg.has("batch_shape") else "batch_input_shape"
        shape = cfg.shape(key)
        if not shape:
            raise cfg.error(key, "a shape with a batch dimension")
        open_axes = tuple(i for i, d in enumerate(shape) if d is None and i > 0)
        shape = [shape[0], *[PROBE if d is None else d for d in shape[1:]]]
        check_size([1 if d is None else d for d in shape], cfg.where, "the input", DAMAGED)
        if isinstance(cfg.get("dtype"), dict):  # a DTypePolicy
            dtype = cfg.child("dtype").child("config").text("name", "float32")
        else:
            dtype = cfg.text("dtype", "float32")
        dtype = np.dtype(dtype if dtype in ("int32", "int64", "bool") else "float32")
        tensor = self.graph.unique_name(name)
        self.graph.add_tensor(Tensor(tensor, tuple(-1 if d is None else d for d in shape),
                                     dtype))
        self.specs[tensor] = TensorSpec(tuple(1 if d is None else d for d in shape), dtype)
        if shape[0] is None:
            self.dynamic.add(tensor)
        if open_axes:
            self.open_inputs[tensor] = open_axes
        return name, tensor

    def _output_names(self, config, count) -> list[str]:
        if config["class_name"] == "Sequential":
            return [layer_name(child_layers(config)[-1])] if child_layers(config) else ["output"]
        return [name for name, _, _ in _endpoints(config["config"]["output_layers"])][:count]

    # -- calls ------------------------------------------------------------------------------
    def _call_model(self, config, prefix, inputs):
        """Apply the model described by ``config`` to tensors ``inputs``; returns its outputs
        (or REFUSED)."""
        if config["class_name"] == "Sequential":
            x = inputs
            for layer in child_layers(config):
                x = self._call_layer(layer, prefix, x)
                if x is REFUSED:
                    return REFUSED
            return x
        cfg = config["config"]
        layers = {layer_name(layer): layer for layer in cfg["layers"]}
        outputs: dict[tuple[str, int], list | object] = {}
        for (name, node, _), tensor in zip(_endpoints(cfg["input_layers"]), inputs):
            outputs[(name, node)] = [tensor]
        pending = [(name, k, _refs(node), node) for name, layer in layers.items()
                   if layer.get("class_name") != "InputLayer"
                   for k, node in enumerate(layer.get("inbound_nodes", []))]
        while pending:
            ready = [p for p in pending if all((r[0], r[1]) in outputs for r in p[2])]
            if not ready:
                missing = sorted({r[0] for p in pending for r in p[2]
                                  if (r[0], r[1]) not in outputs})
                raise ModelFormatError(f"{self.model.source}: the model config's layer graph "
                                       f"is broken near {', '.join(missing)}")
            for item in ready:
                pending.remove(item)
                name, k, refs, node = item
                args = [outputs[(r[0], r[1])] for r in refs]
                if any(a is REFUSED for a in args):
                    outputs[(name, k)] = REFUSED
                    continue
                args = [self._output(a, r, f"layer {name!r}") for a, r in zip(args, refs)]
                result = self._call_layer(layers[name], prefix, args, node)
                outputs[(name, k)] = result
        result = []
        for name, node, index in _endpoints(cfg["output_layers"]):
            if (name, node) not in outputs:
                raise ModelFormatError(f"{self.model.source}: output_layers reads call {node} "
                                       f"of layer {name!r}, which the config never makes "
                                       f"({DAMAGED})")
            produced = outputs[(name, node)]
            if produced is REFUSED:
                return REFUSED
            result.append(self._output(produced, (name, node, index), "output_layers"))
        return result

    def _output(self, produced: list, ref, reader: str) -> str:
        """The tensor ``ref`` names among ``produced``, the outputs of that layer call."""
        layer, node, index = ref
        if index >= len(produced):
            raise ModelFormatError(f"{self.model.source}: {reader} reads output {index} of "
                                   f"layer {layer!r} (call {node}), which has "
                                   f"{len(produced)} ({DAMAGED})")
        return produced[index]

    def _call_layer(self, layer, prefix, inputs, node=None):
        """One layer call: returns its output tensor names, or REFUSED. A keras.ops operation
        gets its positional arguments, Python numbers in place."""
        name = layer_name(layer)
        path = (*prefix, name)
        if is_model(layer):
            return self._call_model(layer, path, inputs)
        cls = layer["class_name"]
        key = rule_key(layer)
        rule = get_rule(key)
        if key.startswith(OPERATION_PREFIX):
            pattern = _operation_args(node)
            if pattern is None:
                self.problems.append((name, cls, "only keras.ops calls with positional tensor "
                                                 "and number arguments are supported"))
                return REFUSED
            tensors = iter(inputs)
            inputs = [next(tensors) if a is TENSOR else a for a in pattern]
        kwargs = node.get("kwargs") if isinstance(node, dict) else None
        builder = LayerBuilder(self.graph, self.specs, self.dynamic, "/".join(path), cls,
                               layer.get("config", {}), self.model.weights.get(path),
                               self.model.source, kwargs if isinstance(kwargs, dict) else {})
        if not inputs or len(inputs) != (rule.inputs or len(inputs)):
            raise ModelFormatError(f"{builder.where}: the config calls it on {len(inputs)} "
                                   f"inputs, it takes {rule.inputs or 'one or more'} "
                                   f"({DAMAGED})")
        try:
            out = rule(builder, builder.config, list(inputs))
        except Unsupported as exc:
            self.problems.append((name, cls, str(exc)))
            return REFUSED
        return list(out) if isinstance(out, (list, tuple)) else [out]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        seen[name] = seen.get(name, -1) + 1
        result.append(name if seen[name] == 0 else f"{name}_{seen[name]}")
    return result


__all__ = ["build_graph", "scan_layers"]
