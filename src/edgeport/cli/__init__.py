"""The ``edgeport`` command: convert, quantize, inspect, run, benchmark and export models.

    edgeport convert MODEL(.keras|.h5|.tflite) -o OUT.tflite [--quantize dynamic|float16|int8]
    edgeport compare FLOAT.tflite QUANT.tflite --data x.npy   per-layer error of a quantized model
    edgeport qat MODEL --data train.npz [--labels] --epochs N -o OUT.tflite
    edgeport inspect MODEL                      what is inside a .tflite (ops, tensors,
                                                weights) or .keras/.h5 (layers, conversion)
    edgeport run MODEL --input x.npy [--output out.npz]   or   --random [--seed N] [--batch N]
    edgeport bench MODEL [--batch N] [--runs N] [--warmup N] [--profile]
    edgeport export-web MODEL -o DIR [--overwrite]   a TF.js bundle and demo page (serve DIR)
    edgeport serve DIR [--port N]               one folder over HTTP on 127.0.0.1
    edgeport devices                            the CPU and GPUs, like nvidia-smi
    edgeport demo [--output-dir DIR]            the main job on the built-in example

Errors edgeport raises on purpose (`EdgeportError`: a corrupt model, an input of the wrong
shape...) and unreadable files print one line, ``edgeport: error: <message>``, and exit 1; a
traceback only with ``--debug``. Usage errors exit 2, as argparse does. Progress bars show on a
terminal only (a summary line in a log); ``--no-progress`` or ``EDGEPORT_PROGRESS=0`` turns
them off. NumPy, rich and tqdm are imported inside the commands, so ``import edgeport.cli``
stays light. Each command is a module of this package with ``add_parser(commands, common)``
and its ``*_command(args)`` function, listed in `COMMANDS`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from .. import __version__
from ..errors import EdgeportError
from . import bench, compare, convert, demo, devices, export_web, inspect, qat, run, serve
from .common import CommandError, one_line

__all__ = ["COMMANDS", "CommandError", "build_parser", "main"]

# Every command, in the order `edgeport --help` lists them: a module with
# add_parser(commands, common) and its command function. A new command is one row.
COMMANDS = (convert, inspect, run, bench, devices, demo, export_web, serve, compare, qat)


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
        with _progress_setting(args.no_progress):
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
        print(f"edgeport: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("edgeport: interrupted", file=sys.stderr)
        return 130


@contextlib.contextmanager
def _progress_setting(off: bool):
    """EDGEPORT_PROGRESS=0 while a command runs with --no-progress (edgeport.progress)."""
    from ..progress import ENV

    if not off:
        yield
        return
    previous = os.environ.get(ENV)
    os.environ[ENV] = "0"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[ENV]
        else:
            os.environ[ENV] = previous


def build_parser() -> argparse.ArgumentParser:
    """The ``edgeport`` parser: the global flags, then each row of COMMANDS as a subcommand
    that also takes them."""
    # --debug is accepted before or after the command. The commands' copy defaults to
    # SUPPRESS so that it cannot reset a --debug given before the command; parents share
    # action objects, so the main parser gets its own. --no-progress the same.
    debug_help = "show the full traceback of an error"
    progress_help = "no progress bars or progress summaries (as EDGEPORT_PROGRESS=0)"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=debug_help)
    common.add_argument("--no-progress", action="store_true", default=argparse.SUPPRESS,
                        help=progress_help)
    parser = argparse.ArgumentParser(
        prog="edgeport",
        description="Take a trained network out of the lab: convert Keras models to .tflite, "
                    "quantize them, run and benchmark them, export them for the browser.")
    parser.add_argument("--debug", action="store_true", help=debug_help)
    parser.add_argument("--no-progress", action="store_true", help=progress_help)
    parser.add_argument("--version", action="version", version=f"edgeport {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    for command in COMMANDS:
        command.add_parser(commands, common)
    return parser


if __name__ == "__main__":
    sys.exit(main())
