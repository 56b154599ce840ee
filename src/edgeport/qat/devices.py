"""Where a `QATModel` trains and predicts: the device of the enclosing ``edgeport.device``
scope, placed as the jax backend places ops."""

from __future__ import annotations

import functools
import warnings
from contextlib import nullcontext


def placed(method):
    """Run ``method``'s jax work (a `QATModel` method) on the device of the enclosing
    ``edgeport.device`` scope."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        with device_scope(self.jax):
            return method(self, *args, **kwargs)

    return run


def device_scope(jax):
    """``jax.default_device`` of the ``edgeport.device(...)`` scope in force (a no-op outside
    one). A device jax does not have falls back to its default device with a warning (soft
    placement) or raises PlacementError (soft placement off)."""
    from ..runtime.backends.jax_runtime import jax_devices
    from ..runtime.devices import STATE
    from ..runtime.placement import PlacementError, current_device

    name = current_device()
    if name is None:
        return nullcontext()
    devices = jax_devices()
    if name in devices:
        return jax.default_device(devices[name])
    message = (f"quantization-aware training: no device {name} (jax has "
               f"{', '.join(devices)})")
    if not STATE.soft_placement:
        raise PlacementError(message)
    warnings.warn(f"{message}; training on jax's default device", RuntimeWarning,
                  stacklevel=3)
    return nullcontext()
