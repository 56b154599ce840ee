"""``edgeport inspect MODEL``: what is inside a model file, as tables.

Show a .tflite model's signatures, ops, tensors (shapes, dtypes, quantization, sizes), op
counts and weights by dtype; or a Keras .keras/.h5 model's layers (output shapes, parameters,
inbound layers, whether edgeport converts them) and weights by dtype.

The format is told by the file's first bytes, not its name (edgeport.frontends.model_format);
the Keras tables are `inspect_keras`'s.
"""

from __future__ import annotations

import os

from .common import (add_model_argument, human_bytes, make_console, shape_text, subcommand,
                     weights_table)

def add_parser(commands, common) -> None:
    """The ``inspect`` subcommand, for edgeport.cli.build_parser."""
    inspect = subcommand(commands, common, "inspect", inspect_command, __doc__,
                         help="show a model's ops or layers, tensors and weights")
    add_model_argument(inspect, ".tflite, .keras or .h5 file")


def inspect_command(args) -> int:
    """Print the tables of ``args.model``, read by the frontend its content calls for."""
    from ..frontends import FORMATS, model_format

    path = str(args.model)
    kind = model_format(path, purpose="inspect")
    if kind == "tflite":
        return inspect_tflite(path)
    from .inspect_keras import inspect_keras

    return inspect_keras(path, FORMATS[kind].description)


def inspect_tflite(path: str) -> int:
    """The header, each subgraph's ops and tensors, op counts and weights of a .tflite file."""
    from rich.table import Table

    from ..frontends import FORMATS
    from ..frontends.tflite import read_tflite

    graph = read_tflite(path)
    console = make_console()
    graphs = graph.all_graphs()

    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("file", path)
    header.add_row("format", FORMATS["tflite"].description)
    header.add_row("size", human_bytes(os.path.getsize(path)))
    if graph.description:
        header.add_row("description", graph.description)
    header.add_row("subgraphs", "\n".join(
        f"{i}: {g.name or '(unnamed)'}  {len(g.ops)} ops, {len(g.tensors)} tensors"
        for i, g in enumerate(graphs)))
    header.add_row("inputs", ", ".join(graph.inputs) or "-")
    header.add_row("outputs", ", ".join(graph.outputs) or "-")
    header.add_row("signatures", "\n".join(
        f"{sig.key} (subgraph {sig.subgraph_index}): "
        f"inputs {_mapping_text(sig.inputs)}; outputs {_mapping_text(sig.outputs)}"
        for sig in graph.signatures) or "-")
    header.add_row("metadata", ", ".join(f"{key} ({human_bytes(len(value))})"
                                         for key, value in graph.metadata.items()) or "-")
    console.print(header)

    for index, g in enumerate(graphs):
        where = f"subgraph {index}" + (f" {g.name!r}" if g.name else "")
        console.print(_op_table(g, f"{where}: ops"))
        console.print(_tensor_table(g, f"{where}: tensors"))

    counts = Table(title="op types", title_justify="left")
    counts.add_column("op type")
    counts.add_column("count", justify="right")
    usage: dict[str, int] = {}
    for g in graphs:
        for op in g.ops:
            usage[op.type] = usage.get(op.type, 0) + 1
    for op_type, n in sorted(usage.items(), key=lambda item: (-item[1], item[0])):
        counts.add_row(op_type, str(n))
    console.print(counts)
    console.print(weights_table([t for g in graphs for t in g.tensors.values()
                                 if t.data is not None], "weights (constant tensors)"))
    return 0


def _op_table(graph, title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("#", "op", "inputs", "outputs", "attrs"):
        table.add_column(column, justify="right" if column == "#" else "left")
    for i, op in enumerate(graph.ops):
        table.add_row(
            str(i), op.type,
            "\n".join("-" if n is None else f"{n} {shape_text(graph.tensors[n].shape)}"
                      for n in op.inputs) or "-",
            "\n".join(f"{n} {shape_text(graph.tensors[n].shape)}" for n in op.outputs),
            "\n".join(f"{key}={_attr_text(value)}" for key, value in _shown_attrs(op)) or "-")
    return table


def _shown_attrs(op) -> list[tuple[str, object]]:
    """The op's attrs, less its TensorType fields left at the schema default: FLOAT32 there
    is the enum's zero, what a file that never set the field reads as, and TFLite then takes
    the type from the tensors (an int8 CONV_2D's quantized_bias_type=FLOAT32 means "the bias
    tensor's type", int32, not a float bias)."""
    from ..ops import get_op
    from ..ops.options import TensorTypeName

    definition = get_op(op.type)
    options = definition.options if definition is not None else None
    if options is None:
        return list(op.attrs.items())
    return [(key, value) for key, value in op.attrs.items()
            if not (options.fields.get(key) is TensorTypeName
                    and value == options.defaults[key])]


def _tensor_table(graph, title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("#", "name", "shape", "dtype", "quantization", "bytes", "kind"):
        table.add_column(column, justify="right" if column in ("#", "bytes") else "left")
    for i, (name, tensor) in enumerate(graph.tensors.items()):
        table.add_row(str(i), name, shape_text(tensor.shape), str(tensor.dtype),
                      _quant_text(tensor.quant), f"{_tensor_bytes(tensor):,}",
                      _tensor_kind(graph, name))
    return table


def _tensor_kind(graph, name: str) -> str:
    tensor = graph.tensors[name]
    kinds = [kind for kind, member in (("input", name in graph.inputs),
                                       ("output", name in graph.outputs),
                                       ("const", tensor.data is not None),
                                       ("variable", tensor.is_variable)) if member]
    return ", ".join(kinds)


def _tensor_bytes(tensor) -> int:
    """Stored bytes of a constant; for any other tensor, its size at the default shape
    (dynamic dims as 1, as TFLite allocates before a resize)."""
    if tensor.data is not None:
        return tensor.nbytes
    size = tensor.dtype.itemsize
    for d in tensor.shape:
        size *= max(d, 1)
    return size


def _quant_text(quant) -> str:
    if quant is None:
        return "-"
    if quant.per_axis:
        return f"per-axis ({quant.scale.size}), dim {quant.axis}"
    return f"scale {float(quant.scale[0]):.6g}, zp {int(quant.zero_point[0])}"


def _attr_text(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _mapping_text(mapping: dict[str, str]) -> str:
    return ", ".join(key if key == name else f"{key}={name}" for key, name in mapping.items())
