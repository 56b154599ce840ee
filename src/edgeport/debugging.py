"""`edgeport.debugging`: tf.debugging's device-placement switch."""

from .runtime.placement import get_log_device_placement, set_log_device_placement

__all__ = ["get_log_device_placement", "set_log_device_placement"]
