"""What the commands share: their error type, console, sub-parser, common arguments and
argument types, text and table formatting, and the backend options of ``run`` and ``bench``."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import EdgeportError


class CommandError(EdgeportError):
    """A command-line argument names something unusable: an unreadable .npy, too few inputs."""


def make_console():
    """A rich console on stdout that prints names verbatim (no markup, emoji or highlighting:
    tensor names hold brackets and colons) and, when piped, does not wrap at 80 columns."""
    from rich.console import Console

    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(file=sys.stdout, markup=False, emoji=False, highlight=False,
                   width=200 if wide else None)


def shape_text(shape) -> str:
    """A shape as the tables show it, ``[1, 28, 28, 1]`` (plain ints, whatever their type)."""
    return "[" + ", ".join(str(int(d)) for d in shape) + "]"


def human_bytes(n: int) -> str:
    """``"512 bytes"``, or ``"1.5 KiB (1,536 bytes)"`` and so on up to GiB."""
    if n < 1024:
        return f"{n:,} bytes"
    size = n / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit} ({n:,} bytes)"
        size /= 1024


def weights_table(constants, title: str):
    """Count, parameters and bytes of ``constants`` by dtype, with totals: the constant
    tensors of a .tflite file, or a Keras file's weight arrays (anything with ``dtype``,
    ``shape`` and ``nbytes``)."""
    import numpy as np
    from rich.table import Table

    by_dtype: dict[str, list[int]] = {}
    for constant in constants:
        row = by_dtype.setdefault(str(constant.dtype), [0, 0, 0])
        row[0] += 1
        row[1] += int(np.prod(constant.shape, dtype=np.int64))
        row[2] += int(constant.nbytes)
    table = Table(title=title, title_justify="left", show_footer=True)
    total = [sum(row[k] for row in by_dtype.values()) for k in range(3)]
    table.add_column("dtype", footer="total")
    for k, heading in enumerate(("tensors", "parameters", "bytes")):
        table.add_column(heading, justify="right", footer=f"{total[k]:,}")
    for dtype, row in sorted(by_dtype.items(), key=lambda item: -item[1][2]):
        table.add_row(dtype, *(f"{value:,}" for value in row))
    return table


def one_line(exc: BaseException) -> str:
    """``exc`` as the one line ``edgeport: error:`` prints: an OSError as "file: reason",
    anything else with its whitespace (a multi-line message's newlines) collapsed."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return " ".join(str(exc).split()) or type(exc).__name__


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {text}")
    return value


IO_TYPES = ("float32", "int8", "uint8")  # --io-type: an int8 model's input/output type


def io_type(name: str):
    """The NumPy type an --io-type choice names (``numpy.int8`` for ``"int8"``), as
    TFLiteConverter.inference_input_type takes it."""
    import numpy as np

    return getattr(np, name)


def device_name(text: str) -> str:
    """A device name as edgeport.device takes it (/GPU:0, /CPU:1, gpu:0, ...), canonical."""
    from ..runtime.placement import canonical_device

    try:
        return canonical_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def subcommand(commands, common, name: str, run, doc: str, help: str):
    """The sub-parser of the command ``name``, for a command module's ``add_parser``: listed
    in ``edgeport --help`` with ``help``, described in ``edgeport NAME --help`` by the second
    paragraph of ``doc``, its module's docstring (the first is its usage line), taking the
    global flags of the ``common`` parent parser, and setting ``args.command`` to ``run``
    when it is the one parsed. One text describes each command to its users and its readers."""
    description = doc.split("\n\n")[1]
    parser = commands.add_parser(name, parents=[common], help=help, description=description)
    parser.set_defaults(command=run)
    return parser


def add_model_argument(parser, help: str) -> None:
    """The ``model`` positional (``args.model``) of the commands that read one model file;
    ``help`` names the formats the command takes. One definition, so that every command
    spells the model argument the same way."""
    parser.add_argument("model", help=help)


def add_output_argument(parser, metavar: str, help: str | None = None) -> None:
    """The required ``-o/--output`` (``args.output``) of the commands that write one file or
    folder, shown as ``metavar``. One definition, so that the commands that write something
    ask for where the same way."""
    parser.add_argument("-o", "--output", required=True, metavar=metavar, help=help)


def add_backend_arguments(parser) -> None:
    """--backend, --device and --strategy: where ``run`` and ``bench`` execute the model."""
    from ..runtime.backends import BACKENDS, STRATEGIES

    group = parser.add_argument_group("where the model runs")
    group.add_argument("--backend", choices=BACKENDS, default="numpy",
                       help="numpy: the reference interpreter (default); jax: the graph "
                            "jit-compiled, on the CPU or a GPU (pip install edgeport[jax])")
    group.add_argument("--device", dest="devices", action="append", type=device_name,
                       metavar="NAME",
                       help="with --backend jax: a device to run on, e.g. /GPU:0 or /CPU:0 "
                            "(default: the first GPU, else the CPU); repeat it with --strategy")
    group.add_argument("--strategy", choices=STRATEGIES,
                       help="with --backend jax: run on every --device (default: every GPU, "
                            "else every CPU device), as a pipeline of graph segments or as "
                            "data-parallel replicas")


def open_interpreter(args):
    """The edgeport.lite.Interpreter of ``args.model`` on the backend and devices asked for."""
    from ..lite import Interpreter

    if args.backend == "numpy" and (args.devices or args.strategy):
        raise CommandError("--device and --strategy need --backend jax")
    devices = args.devices
    if devices and len(devices) > 1 and not args.strategy:
        raise CommandError("several --device need --strategy pipeline or data_parallel")
    if args.strategy and not devices:
        from .. import config

        logical = config.list_logical_devices()
        kind = "GPU" if any(d.device_type == "GPU" for d in logical) else "CPU"
        devices = [d.name for d in logical if d.device_type == kind]
    if args.strategy and len(devices) < 2:
        print(f"edgeport: warning: --strategy {args.strategy} on one device "
              f"({devices[0]}) splits nothing", file=sys.stderr)
    return Interpreter(model_path=args.model, backend=args.backend, devices=devices,
                       strategy=args.strategy)


def placement_summary(interpreter) -> str:
    """One line on where a jax-backend interpreter ran its ops (after its first invoke)."""
    from collections import Counter

    report = interpreter.placement_report()
    counts = Counter((p.device, p.kernel) for p in report.ops)
    where = ", ".join(f"{n} op{'' if n == 1 else 's'} on {device} ({kernel})"
                      for (device, kernel), n in counts.items())
    strategy = f"{report.strategy}, replicas on {', '.join(report.replicas)}" \
        if report.replicas else report.strategy or "one device"
    n = len(report.copies)
    copies = f"; {n} cop{'y' if n == 1 else 'ies'} onto or between devices" if n else ""
    return f"backend jax ({strategy}): {where}{copies}"
