"""Keeping freed memory for the next invoke instead of handing it back to the OS.

An invoke allocates its activations afresh: NumPy's per-op outputs and XLA:CPU's per-run
buffers (hundreds of MB at batch 32). glibc's malloc serves large blocks with mmap and unmaps
them when they are freed, so every invoke touches new pages and pays a page fault per 4 KiB
(measured on MobileNetV2 at batch 32 with the jax backend: 76,000 faults, about 40% of the
invoke; 10-15% on the mediapipe models with NumPy at batch 16). LiteRT avoids this with an
arena planned once; edgeport gets the same effect by telling malloc to keep what it frees:

- ``M_MMAP_MAX = 0``: large blocks come from the heap, not from fresh mappings;
- ``M_TRIM_THRESHOLD`` at its maximum: the freed heap is kept, not returned to the OS;
- ``M_ARENA_MAX = 1``: XLA's worker threads share that heap. This has to happen before any
  other thread first allocates (NumPy's BLAS threads, Keras starting jax), so edgeport applies
  it when it starts jax or plans an interpreter, and a program that imports NumPy-using
  libraries or jax first gets it all by calling `keep_freed_memory()` before those imports
  (``import edgeport.runtime.memory`` imports nothing heavy). Otherwise XLA's largest
  buffers (over 64 MB) still come fresh each run.

The price is that the process keeps its peak memory until it exits, as an arena does. It is
process-wide, glibc only (elsewhere nothing happens), and off with
``EDGEPORT_KEEP_FREED_MEMORY=0``.
"""

from __future__ import annotations

import ctypes
import logging
import os
from functools import lru_cache

log = logging.getLogger(__name__)

# mallopt(3) parameters, from glibc's malloc.h
M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8
LARGEST_INT = 2**31 - 1  # mallopt takes a C int
SWITCH = "EDGEPORT_KEEP_FREED_MEMORY"


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse (the module docstring says why).
    Returns whether it was applied; repeated calls do nothing more."""
    if os.environ.get(SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return _apply()


@lru_cache(maxsize=None)
def _apply() -> bool:
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    settings = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, LARGEST_INT))
    applied = all(mallopt(parameter, value) == 1 for parameter, value in settings)
    log.debug("malloc keeps freed memory for reuse: %s (%s=0 turns this off)", applied, SWITCH)
    return applied


def _glibc_mallopt():
    """glibc's ``mallopt``, or None where the C library is not glibc (macOS, musl, Windows)."""
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, the C library's among them
        libc.gnu_get_libc_version  # only glibc has it (musl's mallopt is a stub)
    except (OSError, AttributeError, TypeError):  # Windows has no CDLL(None)
        return None
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt
