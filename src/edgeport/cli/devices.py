"""``edgeport devices``: the CPU and the GPUs, like nvidia-smi."""

from __future__ import annotations


def add_parser(commands, common) -> None:
    """The ``devices`` subcommand, for edgeport.cli.build_parser."""
    devices = commands.add_parser(
        "devices", parents=[common], help="list the CPU and the GPUs (like nvidia-smi)",
        description="List this machine's devices: the CPU, and each NVIDIA GPU with its memory, "
                    "utilization, compute capability and driver. No GPU is not an error.")
    devices.set_defaults(command=devices_command)


def devices_command(args) -> int:
    from ..runtime.devices import devices_command as show_devices

    return show_devices(args)
