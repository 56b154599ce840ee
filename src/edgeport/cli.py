"""The ``edgeport`` command: convert, inspect, run and benchmark models from a shell.

    edgeport inspect MODEL                      what is inside: ops, tensors, weights
    edgeport run MODEL --input x.npy [--output out.npz]   or   --random [--seed N] [--batch N]
    edgeport bench MODEL [--batch N] [--runs N] [--warmup N] [--profile]
    edgeport convert MODEL(.keras|.h5|.tflite) -o OUT.tflite
    edgeport devices                            the CPU and GPUs, like nvidia-smi
    edgeport export-web MODEL -o DIR            a TF.js bundle and demo page; `serve DIR` shows it
    edgeport demo [--output-dir DIR]            all of the above on the built-in example

Errors edgeport raises on purpose (`EdgeportError`: a corrupt model, an input of the wrong
shape...) and unreadable files print one line, ``edgeport: error: <message>``, and exit 1; a
traceback only with ``--debug``. Usage errors exit 2, as argparse does. NumPy, rich and tqdm are
imported inside the commands, so ``import edgeport.cli`` stays light.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import __version__
from .errors import EdgeportError


class CommandError(EdgeportError):
    """A command-line argument names something unusable: an unreadable .npy, too few inputs."""


def main(argv: list[str] | None = None) -> int:
    """Run the ``edgeport`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit
    code (0 success, 1 error, 2 usage error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "inputs", None) and args.batch is not None:
            parser.error("--batch goes with --random; with --input the arrays' shapes decide "
                         "the batch")
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else 1
    try:
        return args.command(args) or 0
    except BrokenPipeError:
        # The reader went away (edgeport inspect m.tflite | head): stop quietly, and keep
        # Python from complaining when it flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except (EdgeportError, OSError) as exc:
        if args.debug:
            raise
        print(f"edgeport: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("edgeport: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    # --debug is accepted before or after the command. The commands' copy defaults to
    # SUPPRESS so that it cannot reset a --debug given before the command; parents share
    # action objects, so the main parser gets its own.
    debug_help = "show the full traceback of an error"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=debug_help)
    parser = argparse.ArgumentParser(
        prog="edgeport",
        description="Inspect, run and benchmark .tflite models with edgeport's NumPy "
                    "interpreter.")
    parser.add_argument("--debug", action="store_true", help=debug_help)
    parser.add_argument("--version", action="version", version=f"edgeport {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    inspect = commands.add_parser(
        "inspect", parents=[common], help="show a model's ops, tensors and weights",
        description="Show a model's signatures, ops, tensors (shapes, dtypes, quantization, "
                    "sizes), op counts and weights by dtype.")
    inspect.add_argument("model", help=".tflite file")
    inspect.set_defaults(command=inspect_command)

    run = commands.add_parser(
        "run", parents=[common], help="run a model on .npy inputs or random data",
        description="Run a model once with edgeport.lite.Interpreter and print each output's "
                    "shape, dtype and min/max/mean. Inputs are resized to the given arrays.")
    run.add_argument("model", help=".tflite file")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", dest="inputs", action="append", metavar="X.npy",
                        help="a .npy file per model input, in the model's input order")
    source.add_argument("--random", action="store_true",
                        help="feed random inputs of the model's input shapes")
    run.add_argument("--seed", type=int, default=0, help="random seed for --random (default 0)")
    run.add_argument("--batch", type=_positive_int, metavar="N",
                     help="with --random: resize the first dimension of every input to N")
    run.add_argument("--output", metavar="OUT.npz",
                     help="write the outputs to an .npz keyed by output tensor name")
    run.set_defaults(command=run_command)

    bench = commands.add_parser(
        "bench", parents=[common], help="measure a model's latency on random inputs",
        description="Time repeated invocations on random inputs and print latency "
                    "percentiles; --profile adds time per op and per op type.")
    bench.add_argument("model", help=".tflite file")
    bench.add_argument("--batch", type=_positive_int, metavar="N",
                       help="resize the first dimension of every input to N")
    bench.add_argument("--runs", type=_positive_int, default=50, metavar="N",
                       help="timed runs (default 50)")
    bench.add_argument("--warmup", type=_non_negative_int, default=5, metavar="N",
                       help="untimed runs first (default 5)")
    bench.add_argument("--profile", action="store_true", help="time every op")
    bench.add_argument("--top", type=_non_negative_int, default=25, metavar="N",
                       help="with --profile: show the N slowest ops (default 25, 0 = all)")
    bench.set_defaults(command=bench_command)

    convert = commands.add_parser(
        "convert", parents=[common], help="convert a .keras/.h5/.tflite model to .tflite",
        description="Convert a Keras model (.keras or .h5, read without Keras or TensorFlow) "
                    "or re-optimize a float .tflite, and print a summary (ops, parameters, "
                    "size).")
    convert.add_argument("model", help=".keras, .h5 or .tflite file")
    convert.add_argument("-o", "--output", required=True, metavar="OUT.tflite",
                         help="the .tflite file to write (atomically)")
    convert.set_defaults(command=convert_command)

    devices = commands.add_parser(
        "devices", parents=[common], help="list the CPU and the GPUs (like nvidia-smi)",
        description="List this machine's devices: the CPU, and each NVIDIA GPU with its memory, "
                    "utilization, compute capability and driver. No GPU is not an error.")
    devices.set_defaults(command=devices_command)

    demo = commands.add_parser(
        "demo", parents=[common], help="the main job on the built-in example model",
        description="Write the built-in example model (a small image classifier) as .tflite, "
                    "then inspect it, run it on a sample and benchmark it.")
    demo.add_argument("--output-dir", default="edgeport-demo", metavar="DIR",
                      help="where to write the example model (default: ./edgeport-demo)")
    demo.set_defaults(command=demo_command)

    from .export.tfjs.commands import add_parsers as add_web_parsers

    add_web_parsers(commands, common)
    return parser


# -- convert ----------------------------------------------------------------------------------
def convert_command(args) -> int:
    """Convert with edgeport.lite.TFLiteConverter, write atomically, summarize what was written."""
    from .frontends.tflite import read_tflite
    from .io import atomic_write
    from .lite.converter import TFLiteConverter

    source = str(args.model)
    converter = (TFLiteConverter.from_tflite(source) if source.endswith(".tflite")
                 else TFLiteConverter.from_keras_file(source))
    data = converter.convert()
    atomic_write(args.output, data)
    graph = read_tflite(data, args.output)
    usage: dict[str, int] = {}
    for op in graph.ops:
        usage[op.type] = usage.get(op.type, 0) + 1
    params = sum(t.data.size for t in graph.tensors.values() if t.data is not None)
    print(f"wrote {args.output}: {len(graph.ops)} ops, {params:,} parameters, "
          f"{_human_bytes(len(data))}")
    print("  " + ", ".join(f"{n} {op_type}" for op_type, n in
                          sorted(usage.items(), key=lambda item: (-item[1], item[0]))))
    return 0


# -- devices ----------------------------------------------------------------------------------
def devices_command(args) -> int:
    from .runtime.devices import devices_command as show_devices

    return show_devices(args)


# -- demo -------------------------------------------------------------------------------------
def demo_command(args) -> int:
    """Write the example model, then show inspect, run and bench on it: the whole tool in one
    command, on a model that ships with edgeport."""
    from pathlib import Path

    from .examples import digits_cnn
    from .export.tflite import save_tflite

    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = out_dir / "digits_cnn.tflite"
    size = save_tflite(digits_cnn(), model)
    console = _console()
    console.rule(f"1. wrote {model} ({_human_bytes(size)})")
    inspect_command(argparse.Namespace(model=str(model)))
    console.rule("2. run it on a random batch of 4 images")
    run_command(argparse.Namespace(model=str(model), inputs=None, random=True, seed=0,
                                   batch=4, output=str(out_dir / "outputs.npz")))
    console.rule("3. benchmark it at batch 16")
    bench_command(argparse.Namespace(model=str(model), batch=16, runs=50, warmup=5,
                                     profile=True, top=10))
    console.rule("4. export it for the browser (TF.js)")
    from .export.tfjs import export_web

    web = out_dir / "web"
    export_web(digits_cnn(), web, labels=[str(digit) for digit in range(10)])
    console.print(f"wrote a TF.js graph model and a demo page to {web}/")
    console.rule("next")
    console.print(f"edgeport inspect {model}\nedgeport run {model} --input x.npy\n"
                  f"edgeport bench {model} --profile\n"
                  f"edgeport serve {web}    # then open the printed address to draw a digit")
    return 0


# -- inspect ----------------------------------------------------------------------------------
def inspect_command(args) -> int:
    from rich.table import Table

    from .frontends.tflite import read_tflite

    graph = read_tflite(args.model)
    console = _console()
    graphs = graph.all_graphs()

    header = Table.grid(padding=(0, 2))
    header.add_column(style="bold")
    header.add_column()
    header.add_row("file", args.model)
    header.add_row("size", _human_bytes(os.path.getsize(args.model)))
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
    header.add_row("metadata", ", ".join(f"{key} ({_human_bytes(len(value))})"
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
            "\n".join("-" if n is None else f"{n} {_shape_text(graph.tensors[n].shape)}"
                      for n in op.inputs) or "-",
            "\n".join(f"{n} {_shape_text(graph.tensors[n].shape)}" for n in op.outputs),
            "\n".join(f"{key}={_attr_text(value)}" for key, value in op.attrs.items()) or "-")
    return table


def _tensor_table(graph, title: str):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("#", "name", "shape", "dtype", "quantization", "bytes", "kind"):
        table.add_column(column, justify="right" if column in ("#", "bytes") else "left")
    for i, (name, tensor) in enumerate(graph.tensors.items()):
        table.add_row(str(i), name, _shape_text(tensor.shape), str(tensor.dtype),
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


# -- run --------------------------------------------------------------------------------------
def run_command(args) -> int:
    from rich.table import Table

    from .lite import Interpreter

    interpreter = Interpreter(model_path=args.model)
    if args.inputs:
        arrays = _load_inputs(interpreter, args.model, args.inputs)
    else:
        arrays = _random_inputs(interpreter, args.seed, args.batch)
    _feed(interpreter, arrays)
    interpreter.invoke()
    outputs = {d["name"]: interpreter.get_tensor(d["index"])
               for d in interpreter.get_output_details()}

    console = _console()
    console.print("inputs: " + ", ".join(
        f"{d['name']} {_shape_text(value.shape)} {value.dtype}"
        for d, value in zip(interpreter.get_input_details(), arrays))
        + ("" if args.inputs else f" (random, seed {args.seed})"))

    table = Table(title=f"{args.model}: outputs", title_justify="left")
    table.add_column("output")
    table.add_column("shape")
    table.add_column("dtype")
    for column in ("min", "max", "mean"):
        table.add_column(column, justify="right")
    for name, value in outputs.items():
        table.add_row(name, _shape_text(value.shape), str(value.dtype), *_stats(value))
    console.print(table)
    if args.output:
        _save_npz(args.output, outputs)
        print(f"wrote {len(outputs)} output(s) to {args.output}")
    return 0


def _load_inputs(interpreter, model: str, paths: list[str]) -> list:
    """The arrays of ``paths``, checked against the model's inputs (count, dtype, shape) so
    that every complaint names the .npy file at fault."""
    details = interpreter.get_input_details()
    if len(paths) != len(details):
        names = ", ".join(d["name"] for d in details)
        raise CommandError(f"{model} takes {len(details)} input(s) ({names}), got "
                           f"{len(paths)} --input file(s)")
    arrays = []
    for path, detail in zip(paths, details):
        value = _load_npy(path)
        want_dtype, signature = detail["dtype"], [int(d) for d in detail["shape_signature"]]
        where = f"{path}: input {detail['name']!r} of {model}"
        if value.dtype != want_dtype:
            raise CommandError(f"{where} needs dtype {want_dtype.__name__}, the file holds "
                               f"{value.dtype}")
        # Any size of the first (batch) dimension or of a dynamic (-1) one is resized to;
        # other dimensions are fixed by the model.
        if value.ndim != len(signature) or any(
                want not in (-1, got) for want, got in list(zip(signature, value.shape))[1:]):
            raise CommandError(f"{where} has shape {_shape_text(signature)}, the file holds "
                               f"{_shape_text(value.shape)} (only the first and dynamic (-1) "
                               "dimensions may differ)")
        arrays.append(value)
    return arrays


def _load_npy(path: str):
    """The array in the .npy file ``path``; never unpickles (a .npy of objects is refused)."""
    import numpy as np

    try:
        with open(path, "rb") as f:
            magic = f.read(len(np.lib.format.MAGIC_PREFIX))
            if magic.startswith(b"PK"):
                raise CommandError(f"{path}: is an .npz archive; give one .npy file per input")
            if magic != np.lib.format.MAGIC_PREFIX:
                raise CommandError(f"{path}: not a .npy file (no .npy header; save arrays "
                                   "with numpy.save)")
            f.seek(0)
            return np.lib.format.read_array(f, allow_pickle=False)
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except (ValueError, EOFError) as exc:
        raise CommandError(f"{path}: corrupt or unsupported .npy file ({exc})") from None


def _random_inputs(interpreter, seed: int, batch: int | None) -> list:
    """One random array per model input, at its default shape (dynamic dims 1) with the first
    dimension set to ``batch``: normal floats, full-range 8/16-bit integers (quantized
    inputs), small non-negative wider integers (indices), random booleans."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = []
    for detail in interpreter.get_input_details():
        shape = [max(int(d), 1) for d in detail["shape_signature"]]
        if batch is not None and shape:
            shape[0] = batch
        dtype = np.dtype(detail["dtype"])
        if np.issubdtype(dtype, np.floating):
            value = rng.standard_normal(shape).astype(dtype)
        elif dtype == np.bool_:
            value = rng.integers(0, 2, shape).astype(bool)
        elif np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2:
            info = np.iinfo(dtype)
            value = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
        elif np.issubdtype(dtype, np.integer):
            value = rng.integers(0, 10, shape).astype(dtype)
        else:
            raise CommandError(f"cannot make random values for input {detail['name']!r} of "
                               f"dtype {dtype}; give it with --input")
        arrays.append(value)
    return arrays


def _feed(interpreter, arrays: list) -> None:
    """Resize the inputs to ``arrays``' shapes, allocate, and set them."""
    details = interpreter.get_input_details()
    for detail, value in zip(details, arrays):
        if tuple(detail["shape"]) != value.shape:
            interpreter.resize_tensor_input(detail["index"], value.shape)
    interpreter.allocate_tensors()
    for detail, value in zip(details, arrays):
        interpreter.set_tensor(detail["index"], value)


def _stats(value) -> list[str]:
    import numpy as np

    if value.size == 0:
        return ["-", "-", "-"]
    numbers = value.astype(np.float64) if value.dtype == np.bool_ else value
    return [f"{numbers.min():.6g}", f"{numbers.max():.6g}",
            f"{np.mean(numbers, dtype=np.float64):.6g}"]


def _save_npz(path: str, arrays: dict) -> None:
    """Write ``arrays`` as an .npz, atomically (nothing is left behind on failure).

    The archive is built with zipfile and NumPy's .npy writer, which is what np.savez does, so
    that an output tensor named like one of np.savez's own parameters ("file") still works.
    """
    import io
    import zipfile

    import numpy as np

    from .io import atomic_write

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    try:
        atomic_write(path, buffer.getvalue())
    except OSError as exc:
        raise CommandError(f"{path}: cannot write the file ({exc.strerror or exc})") from None


# -- bench ------------------------------------------------------------------------------------
def bench_command(args) -> int:
    import numpy as np
    from rich.table import Table
    from tqdm import tqdm

    from .lite import Interpreter

    interpreter = Interpreter(model_path=args.model)
    arrays = _random_inputs(interpreter, 0, args.batch)
    _feed(interpreter, arrays)
    executor = interpreter.executor(0)
    batch = arrays[0].shape[0] if arrays and arrays[0].ndim else 1

    times = []
    op_times = np.zeros(len(executor.steps))
    with tqdm(total=args.warmup + args.runs, desc="warmup" if args.warmup else "bench",
              unit="run", file=sys.stderr, leave=False) as bar:
        for i in range(args.warmup + args.runs):
            if i == args.warmup:
                bar.set_description("bench")
            start = time.perf_counter()
            executor.invoke(profile=args.profile)
            elapsed = time.perf_counter() - start
            if i >= args.warmup:
                times.append(elapsed)
                if args.profile:
                    op_times += executor.op_times
            bar.update()

    ms = np.array(times) * 1e3
    console = _console()
    inputs = ", ".join(f"{d['name']} {_shape_text(d['shape'])} {np.dtype(d['dtype'])}"
                       for d in interpreter.get_input_details())
    folded = len(executor.graph.ops) - len(executor.steps)
    console.print(f"{args.model}: {len(executor.steps)} ops per run"
                  + (f" ({folded} more folded into constants at load)" if folded else "")
                  + f"; inputs {inputs}")
    console.print(f"{args.runs} runs after {args.warmup} warmup"
                  + (", profiling every op" if args.profile else ""))
    latency = Table(title="latency (ms)", title_justify="left")
    for column in ("p50", "p90", "p99", "mean", "min", "max", f"per image (batch {batch})"):
        latency.add_column(column, justify="right")
    latency.add_row(*(f"{v:.4g}" for v in (*np.percentile(ms, [50, 90, 99]), ms.mean(),
                                           ms.min(), ms.max(), ms.mean() / batch)))
    console.print(latency)
    if args.profile:
        op_ms = op_times * 1e3 / args.runs
        console.print(_profile_table(executor, op_ms, args.runs, args.top))
        console.print(_profile_by_type(executor, op_ms, args.runs))
        console.print(f"ops: {op_ms.sum():.4g} ms of {ms.mean():.4g} ms per run; the rest is "
                      "the interpreter's own work")
    return 0


def _profile_table(executor, op_ms, runs: int, top: int):
    """The slowest ops, by time per run, each named by its index in the model and output."""
    from rich.table import Table

    total = op_ms.sum() or 1.0
    index_of = {id(op): i for i, op in enumerate(executor.graph.ops)}
    order = sorted(range(len(op_ms)), key=lambda k: -op_ms[k])
    shown = order[:top] if top else order
    title = "time per op" + (f" (slowest {len(shown)} of {len(order)})"
                             if len(shown) < len(order) else "")
    table = Table(title=title, title_justify="left")
    for column in ("#", "op", "output", "total ms", "ms/run", "%"):
        table.add_column(column, justify="left" if column in ("op", "output") else "right")
    for k in shown:
        op = executor.steps[k].op
        table.add_row(str(index_of[id(op)]), op.type, op.outputs[0] if op.outputs else "-",
                      f"{op_ms[k] * runs:.4g}", f"{op_ms[k]:.4g}",
                      f"{100 * op_ms[k] / total:.1f}")
    return table


def _profile_by_type(executor, op_ms, runs: int):
    from rich.table import Table

    total = op_ms.sum() or 1.0
    groups: dict[str, list] = {}
    for step, t in zip(executor.steps, op_ms):
        group = groups.setdefault(step.op.type, [0, 0.0])
        group[0] += 1
        group[1] += t
    table = Table(title="time per op type", title_justify="left")
    table.add_column("op type")
    for column in ("count", "total ms", "ms/run", "%"):
        table.add_column(column, justify="right")
    for op_type, (count, t) in sorted(groups.items(), key=lambda item: -item[1][1]):
        table.add_row(op_type, str(count), f"{t * runs:.4g}", f"{t:.4g}",
                      f"{100 * t / total:.1f}")
    return table


# -- shared -----------------------------------------------------------------------------------
def _console():
    """A rich console on stdout that prints names verbatim (no markup, emoji or highlighting:
    tensor names hold brackets and colons) and, when piped, does not wrap at 80 columns."""
    from rich.console import Console

    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(file=sys.stdout, markup=False, emoji=False, highlight=False,
                   width=200 if wide else None)


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def _human_bytes(n: int) -> str:
    """``"512 bytes"``, or ``"1.5 KiB (1,536 bytes)"`` and so on up to GiB."""
    if n < 1024:
        return f"{n:,} bytes"
    size = n / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit} ({n:,} bytes)"
        size /= 1024


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {text}")
    return value


if __name__ == "__main__":
    sys.exit(main())
