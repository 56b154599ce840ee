"""``edgeport inspect MODEL``: what is inside a .tflite file, as tables."""

from __future__ import annotations

import os

from .common import human_bytes, make_console, shape_text


def add_parser(commands, common) -> None:
    """The ``inspect`` subcommand, for edgeport.cli.build_parser."""
    inspect = commands.add_parser(
        "inspect", parents=[common], help="show a model's ops, tensors and weights",
        description="Show a model's signatures, ops, tensors (shapes, dtypes, quantization, "
                    "sizes), op counts and weights by dtype.")
    inspect.add_argument("model", help=".tflite file")
    inspect.set_defaults(command=inspect_command)


def inspect_command(args) -> int:
    from rich.table import Table

    from ..frontends.tflite import read_tflite

    graph = read_tflite(args.model)
    console = make_console()
    graphs = graph.all_graphs()

    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("file", args.model)
    header.add_row("size", human_bytes(os.path.getsize(args.model)))
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
    console.print(_weights_table(graphs))
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
            "\n".join(f"{key}={_attr_text(value)}" for key, value in op.attrs.items()) or "-")
    return table


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


def _weights_table(graphs):
    """Constant tensors (weights, biases, shape operands) of every subgraph, by dtype."""
    import numpy as np
    from rich.table import Table

    by_dtype: dict[str, list[int]] = {}
    for g in graphs:
        for tensor in g.tensors.values():
            if tensor.data is not None:
                row = by_dtype.setdefault(str(tensor.dtype), [0, 0, 0])
                row[0] += 1
                row[1] += int(np.prod(tensor.shape, dtype=np.int64))
                row[2] += tensor.nbytes
    table = Table(title="weights (constant tensors)", title_justify="left", show_footer=True)
    total = [sum(row[k] for row in by_dtype.values()) for k in range(3)]
    table.add_column("dtype", footer="total")
    for k, heading in enumerate(("tensors", "parameters", "bytes")):
        table.add_column(heading, justify="right", footer=f"{total[k]:,}")
    for dtype, row in sorted(by_dtype.items(), key=lambda item: -item[1][2]):
        table.add_row(dtype, *(f"{value:,}" for value in row))
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
