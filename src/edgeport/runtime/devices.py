"""Device discovery without starting any framework, and the device runtime's state.

GPUs are found by the first probe that answers (research notes: ../shared/reference/devices.md):
1. NVML through ``nvidia-ml-py`` (``import pynvml``), when installed;
2. ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits``, when on PATH;
3. the CUDA driver (``libcuda.so.1``) through ctypes, in a child process, so that ``cuInit``
   never runs in this (possibly forking) process.
NVML and nvidia-smi list every physical GPU in PCI order and ignore ``CUDA_VISIBLE_DEVICES``;
`apply_cuda_visible_devices` applies it as CUDA does (indices, ``GPU-<uuid prefix>``,
``MIG-<uuid>``; order kept; an invalid entry ends the list). A GPU in MIG mode is listed as its
MIG instances, which is what CUDA programs see. No driver, no GPU or a broken probe is never an
error: broken output gives one warning naming the probe and the list is what could be read.

The runtime state (visible devices, logical CPU split, whether jax has started) lives here too;
`edgeport.config` is its tf.config-shaped front.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from .gpu_probes import (GpuInfo, ProbeError, probe_libcuda, probe_nvidia_smi,
                         probe_nvml)


class PhysicalDevice(NamedTuple):
    """A device of the machine, as tf.config.PhysicalDevice."""

    name: str
    device_type: str


class LogicalDevice(NamedTuple):
    """A device the runtime computes on, as tf.config.LogicalDevice."""

    name: str
    device_type: str


# -- CUDA_VISIBLE_DEVICES ----------------------------------------------------------------------
def apply_cuda_visible_devices(gpus: list[GpuInfo], value: str | None) -> list[GpuInfo]:
    """The GPUs a CUDA program sees under ``CUDA_VISIBLE_DEVICES=value``, renumbered from 0.

    Entries are indices into ``gpus``, ``GPU-<uuid prefix>`` or ``MIG-<uuid>``; the order is
    kept, and the first entry that names no device (or a device already taken) ends the list,
    as in CUDA. None (unset) keeps every GPU; an empty string hides them all.
    """
    if value is None:
        return [replace(g, index=i) for i, g in enumerate(gpus)]
    chosen: list[GpuInfo] = []
    for entry in (e.strip() for e in value.split(",")):
        match = None
        if entry.isdigit() and int(entry) < len(gpus):
            match = gpus[int(entry)]
        elif entry.startswith(("GPU-", "MIG-")):
            found = [g for g in gpus if g.uuid.startswith(entry)]
            match = found[0] if len(found) == 1 else None  # an ambiguous prefix matches none
        if match is None or any(match is c for c in chosen):
            break
        chosen.append(match)
    return [replace(g, index=i) for i, g in enumerate(chosen)]


def discover_gpus() -> list[GpuInfo]:
    """The GPUs CUDA programs on this machine would see, from the first probe that answers.
    A probe that fails warns (naming itself) and the next one is tried; none is an error."""
    for probe in (probe_nvml, probe_nvidia_smi, probe_libcuda):
        try:
            gpus = probe()
        except ProbeError as exc:
            warnings.warn(f"edgeport: GPU discovery: {exc}; trying the next probe",
                          RuntimeWarning, stacklevel=2)
            continue
        if gpus is None:
            continue
        if probe is probe_libcuda:  # CUDA already applied CUDA_VISIBLE_DEVICES
            return gpus
        return apply_cuda_visible_devices(gpus, os.environ.get("CUDA_VISIBLE_DEVICES"))
    return []


def cpu_details() -> dict:
    """The host CPU's name, core count and memory (bytes, None where unknown)."""
    name = ""
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        memory = None
    import platform

    return {"device_name": name or platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "memory_total": memory}


# -- runtime state -----------------------------------------------------------------------------
@dataclass
class RuntimeState:
    """What edgeport.config has set: applied when the jax runtime starts, frozen after."""

    gpus: list[GpuInfo] | None = None           # discovery result, cached
    visible_gpus: list[int] | None = None       # indices into gpus; None: all
    cpu_split: int = 1                          # logical CPU devices
    memory_growth: dict[str, bool] = field(default_factory=dict)
    soft_placement: bool = True
    log_placement: bool = False


STATE = RuntimeState()


def gpus(refresh: bool = False) -> list[GpuInfo]:
    """The discovered GPUs (cached: probes run once per process unless ``refresh``)."""
    if STATE.gpus is None or refresh:
        STATE.gpus = discover_gpus()
    return STATE.gpus


def runtime_started() -> bool:
    """Whether the jax runtime has initialized its backends (after which the device
    configuration can no longer change)."""
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge

    return xla_bridge.backends_are_initialized()


# -- the `edgeport devices` command ------------------------------------------------------------
