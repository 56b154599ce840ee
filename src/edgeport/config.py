"""`edgeport.config`: tf.config's device API over edgeport's device runtime.

Physical devices are found without starting any framework (`edgeport.runtime.devices`);
logical devices are those of the jax runtime, which starts on the first call that needs it
(`list_logical_devices`, or an Interpreter with ``backend="jax"``). As in TF, the visible
devices and the logical device configuration can only change before that: afterwards they
raise RuntimeError.

    cpu = edgeport.config.list_physical_devices("CPU")[0]
    edgeport.config.set_logical_device_configuration(
        cpu, [edgeport.config.LogicalDeviceConfiguration()] * 4)   # /device:CPU:0..3
"""

from __future__ import annotations

from dataclasses import dataclass

from .runtime.devices import STATE, LogicalDevice, PhysicalDevice, cpu_details, gpus
from .runtime.devices import runtime_started as _runtime_started

CPU = PhysicalDevice("/physical_device:CPU:0", "CPU")


@dataclass(frozen=True)
class LogicalDeviceConfiguration:
    """One logical device carved out of a physical one (tf.config.LogicalDeviceConfiguration).
    ``memory_limit`` (MB) is accepted for GPUs; jax cannot split a GPU, so at most one."""

    memory_limit: int | None = None
    experimental_priority: int | None = None
    experimental_device_ordinal: int | None = None


def list_physical_devices(device_type: str | None = None) -> list[PhysicalDevice]:
    """The machine's CPU and the GPUs CUDA programs would see, optionally of one type
    ("CPU" or "GPU", any case). Starts no framework; no GPU is an empty list, not an error."""
    devices = [CPU] + [PhysicalDevice(f"/physical_device:GPU:{g.index}", "GPU") for g in gpus()]
    return _of_type(devices, device_type)


def get_visible_devices(device_type: str | None = None) -> list[PhysicalDevice]:
    gpu_devices = list_physical_devices("GPU")
    if STATE.visible_gpus is not None:
        gpu_devices = [gpu_devices[i] for i in STATE.visible_gpus]
    return _of_type([CPU, *gpu_devices], device_type)


def set_visible_devices(devices, device_type: str | None = None) -> None:
    """Restrict the runtime to ``devices`` (a PhysicalDevice or a list); with ``device_type``
    only devices of that type are affected. The CPU always stays visible, as in TF."""
    _check_not_started("Visible devices")
    devices = [devices] if isinstance(devices, PhysicalDevice) else list(devices)
    known = list_physical_devices()
    for device in devices:
        if device not in known:
            raise ValueError(f"{device} is not a physical device of this machine; "
                             f"list_physical_devices() gives {known}")
    if device_type is None or device_type.upper() == "GPU":
        chosen = {d.name for d in devices if d.device_type == "GPU"}
        STATE.visible_gpus = [i for i, d in enumerate(list_physical_devices("GPU"))
                              if d.name in chosen]


def list_logical_devices(device_type: str | None = None) -> list[LogicalDevice]:
    """The devices computations run on: /device:CPU:0.. (several after a CPU split) and
    /device:GPU:0.. Starts the jax runtime; without jax, the NumPy backend's /device:CPU:0."""
    from .runtime.backends.jax_runtime import jax_available, logical_devices

    devices = logical_devices() if jax_available() else [LogicalDevice("/device:CPU:0", "CPU")]
    return _of_type(devices, device_type)


def set_logical_device_configuration(device: PhysicalDevice, logical_devices) -> None:
    """Split ``device`` into ``len(logical_devices)`` logical devices: the CPU into n (jax's
    host device count, for testing multi-device code without GPUs); a GPU into one, whose
    ``memory_limit`` caps what the runtime takes. RuntimeError once the runtime has started."""
    _check_not_started("Virtual devices")
    configs = list(logical_devices)
    if not configs:
        raise ValueError("give at least one LogicalDeviceConfiguration")
    if device.device_type == "CPU":
        STATE.cpu_split = len(configs)
    elif len(configs) > 1:
        raise ValueError("the jax runtime cannot split one GPU into several logical devices; "
                         "split the CPU instead to test multi-device code")
    elif configs[0].memory_limit is not None:
        total = get_device_details(device).get("memory_total")
        if total:
            import os

            fraction = min(configs[0].memory_limit * (1 << 20) / total, 1.0)
            os.environ["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{fraction:.3f}"
            os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "true"
    _LOGICAL_CONFIG[device.name] = configs


def get_logical_device_configuration(device: PhysicalDevice):
    """The configurations set for ``device``, or None."""
    return _LOGICAL_CONFIG.get(device.name)


_LOGICAL_CONFIG: dict[str, list[LogicalDeviceConfiguration]] = {}


def get_device_details(device: PhysicalDevice) -> dict:
    """What is known about a physical device: ``device_name``; for a GPU also
    ``compute_capability`` (major, minor), ``memory_total``/``memory_used`` (bytes),
    ``utilization`` (%), ``driver_version``, ``uuid``, ``mig``; for the CPU ``cores`` and
    ``memory_total``. Keys whose value no probe could tell are left out."""
    if device.device_type == "CPU":
        return {k: v for k, v in cpu_details().items() if v is not None}
    index = int(device.name.rsplit(":", 1)[1])
    found = [g for g in gpus() if g.index == index]
    if not found:
        raise ValueError(f"{device} is not a GPU of this machine")
    g = found[0]
    details = {"device_name": g.name, "compute_capability": g.compute_capability,
               "memory_total": g.memory_total, "memory_used": g.memory_used,
               "utilization": g.utilization, "driver_version": g.driver_version,
               "uuid": g.uuid or None, "mig": g.mig}
    return {k: v for k, v in details.items() if v is not None}


def set_memory_growth(device: PhysicalDevice, enable: bool) -> None:
    """Whether the runtime may grow its GPU memory as needed (the default here: edgeport never
    preallocates) or takes it up front (False)."""
    _check_not_started("Memory growth")
    STATE.memory_growth[device.name] = bool(enable)


def get_memory_growth(device: PhysicalDevice) -> bool:
    return STATE.memory_growth.get(device.name, True)


def set_soft_device_placement(enabled: bool) -> None:
    """Whether ops placed on a device that cannot run them fall back to the CPU (with a logged
    warning) instead of raising; an Interpreter's ``strict=True`` overrides it."""
    STATE.soft_placement = bool(enabled)


def get_soft_device_placement() -> bool:
    return STATE.soft_placement


class experimental:  # noqa: N801 (tf.config.experimental)
    """tf.config.experimental's device calls."""

    get_device_details = staticmethod(get_device_details)
    set_memory_growth = staticmethod(set_memory_growth)
    get_memory_growth = staticmethod(get_memory_growth)
    list_physical_devices = staticmethod(list_physical_devices)
    list_logical_devices = staticmethod(list_logical_devices)
    set_visible_devices = staticmethod(set_visible_devices)
    get_visible_devices = staticmethod(get_visible_devices)


def _of_type(devices, device_type):
    if device_type is None:
        return list(devices)
    return [d for d in devices if d.device_type == device_type.upper()]


def _check_not_started(what: str) -> None:
    if _runtime_started():
        raise RuntimeError(f"{what} cannot be modified after being initialized: the device "
                           "runtime has started; configure devices before the first "
                           "list_logical_devices() or jax-backend Interpreter")


__all__ = ["LogicalDevice", "LogicalDeviceConfiguration", "PhysicalDevice", "experimental",
           "get_logical_device_configuration", "get_memory_growth",
           "get_soft_device_placement", "get_visible_devices", "list_logical_devices",
           "list_physical_devices", "set_logical_device_configuration", "set_memory_growth",
           "set_soft_device_placement", "set_visible_devices", "get_device_details"]
