"""Frontends: each reads one model format into the IR graph (edgeport.graph.Graph).

`FORMATS` is the table of the formats edgeport reads: how a file of each is told (its first
bytes) and which function reads it. `model_format(path)` says which format a
file is, and `load(source)` reads a path, .tflite bytes, a live keras.Model, a `KerasModel` or
a Graph. A new frontend is one row here (and its module).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Callable

from ..errors import ModelFormatError
from ..graph import Graph

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class Format:
    """One model format: what to call it, how its files start, what reads it."""

    description: str
    magic: Callable[[bytes], bool]  # on the file's first 8 bytes
    reader: str  # "module:function" under edgeport.frontends, imported on use

    def read(self, path) -> Graph:
        module, function = self.reader.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), function)(path)


FORMATS = {
    "tflite": Format(".tflite (TFLite flatbuffer)", lambda head: head[4:8] == b"TFL3",
                     "tflite:read_tflite"),
    "keras": Format(".keras (Keras 3 zip archive)", lambda head: head[:2] == b"PK",
                    "keras:load_keras"),
    "h5": Format(".h5 (Keras 2 or 3 full-model HDF5 file)",
                 lambda head: head == HDF5_SIGNATURE, "keras:load_keras"),
}


def model_format(path: str | os.PathLike, purpose: str = "edgeport") -> str:
    """The key in FORMATS of the model file at ``path``, told by its first bytes (never by
    its name); a ModelFormatError naming the file and the formats ``purpose`` reads for
    anything else."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise ModelFormatError(f"{os.fspath(path)}: cannot read the file "
                               f"({exc.strerror or exc})") from None
    for name, fmt in FORMATS.items():
        if fmt.magic(head):
            return name
    raise ModelFormatError(f"{os.fspath(path)}: not a model file that {purpose} reads; it "
                           f"reads {', '.join(f.description for f in FORMATS.values())}")


def load(source) -> Graph:
    """The unoptimized IR graph of ``source``: a model file's path (any of FORMATS), .tflite
    bytes, a live keras.Model or a `KerasModel`; a Graph is returned as it is."""
    if isinstance(source, Graph):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        from .tflite import read_tflite

        return read_tflite(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return FORMATS[model_format(source)].read(source)
    from .keras import load_keras

    return load_keras(source)


__all__ = ["FORMATS", "Format", "load", "model_format"]
