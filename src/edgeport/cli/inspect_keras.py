"""``edgeport inspect`` on a Keras .keras or .h5 file: the model's inputs and outputs, a table of
its layers (class, output shape, parameters, inbound layers, whether edgeport converts it) and
its weights by dtype.

The file is read as data by the Keras frontend; nothing in it is executed. Output shapes come
from the config where Keras recorded them (Keras 3 writes the shape of every tensor a layer call
reads, and the input layers' shapes). The IR graph is built once as well: it says whether the
model converts, and gives the shapes the config lacks (the model's outputs; every layer of a
Keras 2 file) when it does.
"""

from __future__ import annotations

import os

from rich.table import Table

from ..errors import EdgeportError
from ..frontends.keras import build_graph, read_keras_file
from ..frontends.keras.archive import child_layers
from ..frontends.keras.layers import get_rule, rule_key
from ..frontends.keras.schema import KERAS_TENSOR, endpoints, is_model, layer_name, node_refs
from ..frontends.keras.topology import scan_layers
from .common import human_bytes, make_console, one_line, shape_text, weights_table

Shape = tuple[int, ...]


def inspect_keras(path: str, format_text: str) -> int:
    """Print the header, the layers table and the weights table of the Keras file ``path``."""
    model = read_keras_file(path)
    graph, conversion = _build(model)
    shapes = _output_shapes(model, graph)
    console = make_console()
    console.print(_header(path, format_text, model, shapes, conversion))
    console.print(_layer_table(model, shapes, built=graph is not None))
    console.print(weights_table([a for arrays in model.weights.values() for a in arrays],
                                "weights"))
    return 0


def _build(model) -> tuple[object | None, str]:
    """The model's IR graph and a line saying it converts, or None and why it does not."""
    try:
        graph = build_graph(model)
    except EdgeportError as exc:
        return None, one_line(exc)
    return graph, f"ok ({len(graph.ops)} ops)"


# -- header -----------------------------------------------------------------------------------
def _header(path: str, format_text: str, model, shapes, conversion: str):
    config = model.config
    inputs, outputs = _endpoint_names(config, model.source)
    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("file", path)
    header.add_row("format", format_text)
    header.add_row("size", human_bytes(os.path.getsize(path)))
    header.add_row("model", f"{layer_name(config) or '?'} ({config['class_name']})")
    header.add_row("inputs", "\n".join(_named_shapes(n, shapes) for n in inputs) or "-")
    header.add_row("outputs", "\n".join(_named_shapes(n, shapes) for n in outputs) or "-")
    header.add_row("conversion", conversion)
    return header


def _endpoint_names(config: dict, source: str) -> tuple[list[str], list[str]]:
    """The names of the model's input and output layers: a Functional's input_layers and
    output_layers, a Sequential's InputLayer and last layer."""
    if not is_model(config):
        return [], []
    if config["class_name"] == "Sequential":
        layers = config["config"].get("layers", [])
        first = [layer_name(layer) for layer in layers[:1]
                 if layer.get("class_name") == "InputLayer"]
        return first, [layer_name(layer) for layer in child_layers(config)[-1:]]
    cfg, where = config["config"], f"{source}: model {layer_name(config)!r}"
    return tuple([name for name, _, _ in endpoints(cfg.get(key), where, key)]
                 for key in ("input_layers", "output_layers"))


def _named_shapes(name: str, shapes: dict[str, list[Shape]]) -> str:
    return f"{name} {_shapes_text(shapes.get(name))}"


def _shapes_text(found: list[Shape] | None) -> str:
    """Shapes one per line (a shared layer has one per call); ``?`` where none is known."""
    return "\n".join(shape_text(s) for s in found) if found else "?"


# -- layers -----------------------------------------------------------------------------------
def _layer_table(model, shapes: dict[str, list[Shape]], built: bool):
    """One row per layer, nested models' layers after their model's row, named by path."""
    problems = {(name, cls): reason for name, cls, reason in scan_layers(model.config)}
    table = Table(title="layers", title_justify="left", show_footer=True)
    total = sum(a.size for arrays in model.weights.values() for a in arrays)
    table.add_column("name", footer="total")
    table.add_column("class")
    table.add_column("output shape")
    table.add_column("parameters", justify="right", footer=f"{total:,}")
    table.add_column("inbound")
    table.add_column("conversion")
    for path, layer, inbound in _walk(model.config, (), model.source):
        name = "/".join(path)
        table.add_row(name, rule_key(layer), _shapes_text(shapes.get(name)),
                      f"{_parameters(model.weights, path):,}", inbound,
                      _conversion_text(layer, problems, built))
    return table


def _walk(config: dict, prefix: tuple[str, ...], source: str):
    """(path, layer config, inbound text) of every layer of ``config``, nested ones included."""
    layers = config.get("config", {}).get("layers", [])
    for index, layer in enumerate(layers):
        path = (*prefix, layer_name(layer))
        if config.get("class_name") == "Sequential":
            inbound = layer_name(layers[index - 1]) if index else "-"
        else:
            inbound = _inbound_text(layer, f"{source}: layer {'/'.join(path)!r}")
        yield path, layer, inbound
        if is_model(layer):
            yield from _walk(layer, path, source)


def _inbound_text(layer: dict, where: str) -> str:
    """The layers a Functional layer's calls read, one line per call."""
    return "\n".join(", ".join(name for name, _, _ in node_refs(node, where))
                     for node in layer.get("inbound_nodes") or []) or "-"


def _parameters(weights: dict, path: tuple[str, ...]) -> int:
    """The weights of the layer at ``path``, or of every layer under it for a nested model
    (all arrays, non-trainable ones included, as keras' count_params counts)."""
    return sum(a.size for key, arrays in weights.items() if key[:len(path)] == path
               for a in arrays)


def _conversion_text(layer: dict, problems: dict, built: bool) -> str:
    """``ok``; ``no rule: why`` or ``refused: why`` for a layer the frontend's scan refuses;
    ``has a rule`` when the model as a whole did not convert (the header says why)."""
    if is_model(layer):
        return "-"
    reason = problems.get((layer_name(layer), str(layer.get("class_name"))))
    if reason is None:
        return "ok" if built else "has a rule"
    return f"{'no rule' if get_rule(rule_key(layer)) is None else 'refused'}: {reason}"


# -- shapes -----------------------------------------------------------------------------------
def _output_shapes(model, graph) -> dict[str, list[Shape]]:
    """Each layer's output shapes by path: as the config records them, else as the IR graph
    (None: the model did not convert) has them; a nested model's are its outputs'."""
    shapes = _config_shapes(model.config)
    for origin, found in ({} if graph is None else _graph_shapes(graph)).items():
        shapes.setdefault(origin, found)
    _add_nested_model_shapes(model.config, shapes, (), model.source)
    return shapes


def _add_nested_model_shapes(config: dict, shapes: dict[str, list[Shape]], prefix,
                             source: str) -> None:
    """Give each nested model without a recorded shape the shapes of its output layers."""
    for layer in config.get("config", {}).get("layers", []):
        if is_model(layer):
            path = (*prefix, layer_name(layer))
            _add_nested_model_shapes(layer, shapes, path, source)
            outputs = [shape for name in _endpoint_names(layer, source)[1]
                       for shape in shapes.get("/".join((*path, name)), [])]
            if outputs:
                shapes.setdefault("/".join(path), outputs)


def _config_shapes(config: dict, prefix: tuple[str, ...] = ()) -> dict[str, list[Shape]]:
    """Output shapes the config records, by layer path (``outer/inner`` in nested models),
    the batch dimension as -1: the shapes of the tensors every call reads (Keras 3), the input
    layers' batch shapes, and in a Sequential each layer's build input shape, which is the
    output of the layer before it."""
    found: dict[str, dict[tuple[int, int], Shape]] = {}

    def record(name: str, output: tuple[int, int], shape) -> None:
        dims = _dims(shape)
        if dims is not None:
            found.setdefault("/".join((*prefix, name)), {})[output] = dims

    layers = config.get("config", {}).get("layers", [])
    for layer in layers:
        cfg = layer.get("config", {})
        if layer.get("class_name") == "InputLayer":
            record(layer_name(layer), (0, 0), cfg.get("batch_shape") or
                   cfg.get("batch_input_shape"))
        for node in layer.get("inbound_nodes") or []:
            for (name, node_index, tensor_index), shape in _call_tensors(node):
                record(name, (node_index, tensor_index), shape)
    if config.get("class_name") == "Sequential":
        for before, layer in zip(layers, layers[1:]):
            record(layer_name(before), (0, 0), (layer.get("build_config") or {}).get(
                "input_shape"))
    shapes = {name: list(dict.fromkeys(s for _, s in sorted(outputs.items())))
              for name, outputs in found.items()}
    for layer in layers:
        if is_model(layer):
            shapes.update(_config_shapes(layer, (*prefix, layer_name(layer))))
    return shapes


def _call_tensors(node):
    """((layer, node, tensor), shape) of each Keras tensor among a Keras 3 call's arguments;
    a Keras 2 call (a list of [layer, node, tensor, kwargs]) records no shapes. (The walk's
    `node_refs` reads the same references, without their shapes.)"""
    if not isinstance(node, dict):
        return
    pending = list(node.get("args", []))
    while pending:
        value = pending.pop()
        if isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR:
            name, node_index, tensor_index = value["config"]["keras_history"]  # checked on read
            yield (name, node_index, tensor_index), value["config"].get("shape")
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, (list, tuple)):
            pending.extend(value)


def _dims(shape) -> Shape | None:
    """A recorded shape as ints, None dims (the batch) as -1; None if it is not one shape."""
    if not isinstance(shape, (list, tuple)) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in shape):
        return None
    return tuple(-1 if d is None else d for d in shape)


def _graph_shapes(graph) -> dict[str, list[Shape]]:
    """The shapes of the tensors each layer hands on, keyed by op origin (the layer's path):
    its ops' outputs that the graph outputs or that another layer's ops read."""
    consumers = graph.consumers()
    found: dict[str, list[Shape]] = {}
    for op in graph.ops:
        for name in op.outputs:
            if name in graph.outputs or any(reader.origin != op.origin
                                            for reader in consumers.get(name, [])):
                found.setdefault(op.origin, []).append(graph.tensors[name].shape)
    return {origin: list(dict.fromkeys(shapes)) for origin, shapes in found.items()}
