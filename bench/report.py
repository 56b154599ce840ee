"""Shared by the bench/ scripts: each owns one marked section of BENCHMARKS.md.

A script writes only the text between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
(appending the section when the markers are absent), atomically, so that several scripts can
report into one file without overwriting each other's figures.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "BENCHMARKS.md"


def markers(name: str) -> tuple[str, str]:
    """The start and end marker lines of section ``name``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def update_section(path: str | os.PathLike, name: str, body: str) -> None:
    """Replace section ``name`` of ``path`` by ``body`` (appended when the markers are absent).

    ``body`` is the section's Markdown without the markers; the rest of the file is kept
    byte for byte. The file is written through a temporary file and a rename."""
    from edgeport.io import atomic_write

    start, end = markers(name)
    section = f"{start}\n{body.strip(chr(10))}\n{end}"
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text + ("\n" if text and not text.endswith("\n") else "") + \
            ("\n" if text else "") + section + "\n"
    atomic_write(path, text.encode())


def load_average() -> str:
    """The 1/5/15-minute load averages, for saying how busy the shared machine was."""
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"
