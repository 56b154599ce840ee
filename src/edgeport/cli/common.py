"""What the commands share: their error type, console, argument types, text formatting and
.npy reading."""

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


def one_line(exc: BaseException) -> str:
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


def load_npy(path: str):
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
