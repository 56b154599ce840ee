"""``edgeport devices``: the CPU and the GPUs, like nvidia-smi.

List this machine's devices: the CPU, and each NVIDIA GPU with its memory, utilization, compute
capability and driver. No GPU is not an error.
"""

from __future__ import annotations

from .common import subcommand


def add_parser(commands, common) -> None:
    """The ``devices`` subcommand, for edgeport.cli.build_parser."""
    subcommand(commands, common, "devices", devices_command, __doc__,
               help="list the CPU and the GPUs (like nvidia-smi)")


def devices_command(args) -> int:
    from ..runtime.devices import devices_command as show_devices

    return show_devices(args)
