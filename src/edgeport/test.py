"""`edgeport.test`: tf.test's GPU helpers, answered by device discovery (no framework starts)."""

from __future__ import annotations

from .config import list_physical_devices


def is_gpu_available(cuda_only: bool = False, min_cuda_compute_capability=None) -> bool:
    """Whether a GPU is visible (with at least ``min_cuda_compute_capability``, a (major,
    minor) tuple, when given). Deprecated in TF in favour of list_physical_devices("GPU");
    kept for code written against it."""
    from .config import get_device_details

    for device in list_physical_devices("GPU"):
        capability = get_device_details(device).get("compute_capability")
        if min_cuda_compute_capability is None or (
                capability is not None and tuple(capability) >= tuple(min_cuda_compute_capability)):
            return True
    return False


def gpu_device_name() -> str:
    """``'/device:GPU:0'`` when a GPU is visible, else ``''``."""
    return "/device:GPU:0" if list_physical_devices("GPU") else ""


def is_built_with_cuda() -> bool:
    """Whether the installed jax has a CUDA plugin (importable without starting jax)."""
    import importlib.util

    return any(importlib.util.find_spec(name) is not None
               for name in ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_cuda12_pjrt",
                            "jax_cuda13_pjrt"))
