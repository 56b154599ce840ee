"""GPU probes that need no framework: NVML, nvidia-smi and the CUDA driver, each returning the
GPUs it sees (None: this probe has nothing to say here; ProbeError: it answered with something
unparseable). `edgeport.runtime.devices.discover_gpus` tries them in order.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace

MIB = 1 << 20


@dataclass
class GpuInfo:
    """What the probes know about one GPU (or MIG instance); None where a probe cannot tell
    (MIG instances report no utilization)."""

    index: int                      # position among the devices CUDA programs see
    name: str
    uuid: str = ""
    memory_total: int | None = None  # bytes
    memory_used: int | None = None   # bytes
    utilization: int | None = None   # percent
    compute_capability: tuple[int, int] | None = None
    driver_version: str | None = None
    mig: bool = False                # a MIG instance, not a whole GPU
    source: str = ""                 # the probe that found it


class ProbeError(Exception):
    """A probe answered with something it could not parse."""


# -- probes ----------------------------------------------------------------------------------
def probe_nvml() -> list[GpuInfo] | None:
    """Every physical GPU (MIG instances instead of MIG-enabled GPUs) from NVML, or None when
    nvidia-ml-py is not installed or no NVIDIA driver answers."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # NVMLError_LibraryNotFound / DriverNotLoaded: no NVIDIA driver
        return None
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        gpus: list[GpuInfo] = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            info = _nvml_device(pynvml, handle, driver)
            instances = _nvml_mig_instances(pynvml, handle, info)
            gpus.extend(instances if instances else [info])
        return gpus
    except Exception as exc:
        raise ProbeError(f"NVML: {type(exc).__name__}: {exc}") from exc
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _nvml_device(pynvml, handle, driver: str) -> GpuInfo:
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    try:
        utilization = int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except Exception:  # NotSupported on MIG and some boards
        utilization = None
    try:
        capability = tuple(int(v) for v in pynvml.nvmlDeviceGetCudaComputeCapability(handle))
    except Exception:
        capability = None
    return GpuInfo(0, _text(pynvml.nvmlDeviceGetName(handle)),
                   _text(pynvml.nvmlDeviceGetUUID(handle)), int(memory.total),
                   int(memory.used), utilization, capability, driver, source="nvml")


def _nvml_mig_instances(pynvml, handle, parent: GpuInfo) -> list[GpuInfo]:
    try:
        current, _pending = pynvml.nvmlDeviceGetMigMode(handle)
    except Exception:  # not a MIG-capable GPU
        return []
    if not current:
        return []
    instances = []
    for k in range(pynvml.nvmlDeviceGetMaxMigDeviceCount(handle)):
        try:
            mig = pynvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, k)
        except Exception:  # NotFound: an empty slot
            continue
        info = _nvml_device(pynvml, mig, parent.driver_version)
        instances.append(replace(info, utilization=None, mig=True,
                                 compute_capability=info.compute_capability
                                 or parent.compute_capability))
    return instances


SMI_FIELDS = ("index", "uuid", "name", "memory.total", "memory.used", "utilization.gpu",
              "compute_cap", "driver_version", "mig.mode.current")
# nvidia-smi before driver 510 has no compute_cap; it then refuses the whole query.
SMI_OLD_FIELDS = tuple(f for f in SMI_FIELDS if f != "compute_cap")
SMI_MIG_LINE = re.compile(r"^\s+MIG\s+(?P<profile>\S+)\s+Device\s+(?P<k>\d+):\s+"
                          r"\(UUID:\s*(?P<uuid>MIG-[^)\s]+)\)")


def probe_nvidia_smi() -> list[GpuInfo] | None:
    """Every physical GPU from nvidia-smi (MIG instances, from ``nvidia-smi -L``, instead of
    MIG-enabled GPUs), or None when nvidia-smi is not on PATH or finds no driver."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    for fields in (SMI_FIELDS, SMI_OLD_FIELDS):
        result = _run([smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"])
        if result is None:
            return None
        if result.returncode == 0:
            break
    else:
        if "NVIDIA-SMI has failed" in result.stdout + result.stderr:
            return None  # installed, but no driver loaded: a machine without a GPU
        raise ProbeError(f"nvidia-smi exited with status {result.returncode}: "
                         f"{(result.stderr or result.stdout).strip()[:200]}")
    gpus = [_smi_row(line, fields) for line in result.stdout.splitlines() if line.strip()]
    if any(g.mig for g in gpus):
        listing = _run([smi, "-L"])
        if listing is not None and listing.returncode == 0:
            gpus = _expand_mig(gpus, listing.stdout)
    return gpus


def _smi_row(line: str, fields) -> GpuInfo:
    values = [v.strip() for v in line.split(",")]
    if len(values) != len(fields):
        raise ProbeError(f"nvidia-smi: expected {len(fields)} comma-separated fields, got "
                         f"{line.strip()!r}")
    row = dict(zip(fields, values))
    try:
        capability = _number(row.get("compute_cap"), float)
        return GpuInfo(
            int(row["index"]), row["name"], row["uuid"],
            _mib(row["memory.total"]), _mib(row["memory.used"]),
            _number(row["utilization.gpu"], int),
            None if capability is None else tuple(int(p) for p in row["compute_cap"].split(".")),
            row["driver_version"], mig=row["mig.mode.current"] == "Enabled",
            source="nvidia-smi")
    except ValueError as exc:
        raise ProbeError(f"nvidia-smi: cannot read {line.strip()!r}: {exc}") from None


def _expand_mig(gpus: list[GpuInfo], listing: str) -> list[GpuInfo]:
    """Replace each MIG-enabled GPU by its instances from ``nvidia-smi -L``:
    ``GPU 0: NAME (UUID: GPU-...)`` followed by ``  MIG 1g.10gb Device 0: (UUID: MIG-...)``."""
    instances: dict[int, list[tuple[str, str]]] = {}
    gpu = -1
    for line in listing.splitlines():
        if line.startswith("GPU "):
            gpu = int(line.split()[1].rstrip(":"))
        elif (match := SMI_MIG_LINE.match(line)) and gpu >= 0:
            instances.setdefault(gpu, []).append((match["profile"], match["uuid"]))
    expanded = []
    for g in gpus:
        if not g.mig or g.index not in instances:
            expanded.append(replace(g, mig=False))
            continue
        expanded.extend(replace(g, name=f"{g.name} MIG {profile}", uuid=uuid, utilization=None,
                                memory_total=None, memory_used=None, mig=True)
                        for profile, uuid in instances[g.index])
    return expanded


# A child process runs this, so cuInit never runs in the parent (which may fork later).
_LIBCUDA_SCRIPT = r"""
import ctypes, json
cuda = ctypes.CDLL("libcuda.so.1")
out = []
if cuda.cuInit(0) == 0:
    count = ctypes.c_int()
    cuda.cuDeviceGetCount(ctypes.byref(count))
    driver = ctypes.c_int()
    cuda.cuDriverGetVersion(ctypes.byref(driver))
    for i in range(count.value):
        dev, name, major, minor = ctypes.c_int(), ctypes.create_string_buffer(256), ctypes.c_int(), ctypes.c_int()
        memory = ctypes.c_size_t()
        cuda.cuDeviceGet(ctypes.byref(dev), i)
        cuda.cuDeviceGetName(name, 256, dev)
        cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, dev)  # COMPUTE_CAPABILITY_MAJOR
        cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev)  # COMPUTE_CAPABILITY_MINOR
        cuda.cuDeviceTotalMem_v2(ctypes.byref(memory), dev)
        out.append([i, name.value.decode(), memory.value, [major.value, minor.value],
                    "CUDA %d.%d" % (driver.value // 1000, driver.value % 1000 // 10)])
print(json.dumps(out))
"""


def probe_libcuda() -> list[GpuInfo] | None:
    """The GPUs CUDA programs see (CUDA_VISIBLE_DEVICES already applied, CUDA's numbering),
    from the driver library; None when there is no libcuda.so.1."""
    if not _libcuda_present():
        return None
    result = _run([sys.executable, "-c", _LIBCUDA_SCRIPT])
    if result is None or result.returncode != 0:
        return None
    try:
        rows = json.loads(result.stdout)
        return [GpuInfo(int(i), name, "", int(memory), None, None, tuple(capability), driver,
                        source="libcuda") for i, name, memory, capability, driver in rows]
    except (ValueError, TypeError) as exc:
        raise ProbeError(f"libcuda: cannot read the probe's output: {exc}") from None


def _libcuda_present() -> bool:
    import ctypes.util

    return ctypes.util.find_library("cuda") is not None or any(
        os.path.exists(os.path.join(d, "libcuda.so.1"))
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib"))


# -- helpers -----------------------------------------------------------------------------------
def _run(command: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _number(text: str | None, kind):
    """A number field of nvidia-smi, or None for ``[N/A]`` / ``[Not Supported]``."""
    if text is None or text.startswith("[") or text in ("N/A", ""):
        return None
    return kind(text)


def _mib(text: str) -> int | None:
    value = _number(text, float)
    return None if value is None else int(value * MIB)
