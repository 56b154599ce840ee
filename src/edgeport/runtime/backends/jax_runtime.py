"""Starting jax with edgeport's device configuration, and naming its devices as TF does.

Everything set through `edgeport.config` becomes environment for XLA before jax initializes
its backends (after that XLA ignores it, hence TF's RuntimeError): the logical CPU split
(``--xla_force_host_platform_device_count``), the visible GPUs, and no memory preallocation
(jax takes 75% of each GPU by default; research notes, "what users complain about").
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from ...errors import EdgeportError
from ..memory import keep_freed_memory
from ..devices import STATE, LogicalDevice, gpus, runtime_started

HOST_COUNT_FLAG = "--xla_force_host_platform_device_count"


class JaxUnavailableError(EdgeportError):
    """The jax backend was asked for but jax is not installed."""


def set_host_device_count(n: int) -> None:
    """Make XLA's host platform expose ``n`` CPU devices (replacing any earlier count)."""
    flags = re.sub(rf"{HOST_COUNT_FLAG}=\d+\s*", "", os.environ.get("XLA_FLAGS", "")).strip()
    os.environ["XLA_FLAGS"] = f"{flags} {HOST_COUNT_FLAG}={n}".strip()


def _apply_configuration() -> None:
    if STATE.cpu_split > 1:
        set_host_device_count(STATE.cpu_split)
    # Never take a GPU's memory up front unless asked (set_memory_growth(False) keeps it).
    if False not in STATE.memory_growth.values():
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if STATE.visible_gpus is not None:
        visible = [gpus()[i] for i in STATE.visible_gpus]
        # Name them by UUID: indices would be CUDA's, which may already be a subset.
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(g.uuid or str(g.index) for g in visible)
        if not visible and "JAX_PLATFORMS" not in os.environ:
            os.environ["JAX_PLATFORMS"] = "cpu"


@lru_cache(maxsize=None)
def jax_module():
    """jax, imported (and its backends started) with edgeport's configuration applied."""
    keep_freed_memory()  # before XLA's threads first allocate (edgeport.runtime.memory)
    try:
        import jax  # noqa: F401 (imported here only: jax is an optional extra)
    except ImportError:
        raise JaxUnavailableError("the jax backend needs jax: pip install 'edgeport[jax]' "
                                  "(and jax's CUDA plugin for NVIDIA GPUs)") from None
    if not runtime_started():
        _apply_configuration()
    return jax


@lru_cache(maxsize=None)
def jax_devices() -> dict[str, object]:
    """TF-style logical device name -> jax device: /device:CPU:i for each host device, then
    /device:GPU:i for each GPU jax sees. Starts the runtime."""
    jax = jax_module()
    named = {f"/device:CPU:{i}": d for i, d in enumerate(jax.devices("cpu"))}
    try:
        accelerators = jax.devices("gpu")
    except RuntimeError:  # no GPU backend (CPU-only jaxlib, or no GPU visible)
        accelerators = []
    named.update({f"/device:GPU:{i}": d for i, d in enumerate(accelerators)})
    return named


def logical_devices() -> list[LogicalDevice]:
    return [LogicalDevice(name, name.split(":")[1]) for name in jax_devices()]


def jax_available() -> bool:
    try:
        jax_module()
    except JaxUnavailableError:
        return False
    return True
