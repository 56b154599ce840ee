"""``edgeport devices``: the CPU and the GPUs, like nvidia-smi.

List this machine's devices: the CPU, and each NVIDIA GPU with its memory, utilization, compute
capability and driver. No GPU is not an error.
"""

from __future__ import annotations

import sys

from ..runtime.gpu_probes import MIB
from .common import subcommand


def add_parser(commands, common) -> None:
    """The ``devices`` subcommand, for edgeport.cli.build_parser."""
    subcommand(commands, common, "devices", devices_command, __doc__,
               help="list the CPU and the GPUs (like nvidia-smi)")


def devices_command(args) -> int:
    """Print an nvidia-smi-like table of the GPUs (index, name, memory used/total,
    utilization, compute capability, driver) and the CPU, from edgeport.runtime.devices'
    discovery. Starts no framework."""
    from rich.console import Console
    from rich.table import Table

    from ..runtime.devices import cpu_details, gpus

    table = Table(title="devices", title_justify="left")
    for column in ("device", "name", "memory used / total", "util", "compute cap.", "driver"):
        table.add_column(column)
    cpu = cpu_details()
    table.add_row("/physical_device:CPU:0", f"{cpu['device_name']} ({cpu['cores']} cores)",
                  f"- / {_mib_text(cpu['memory_total'])}", "-", "-", "-")
    found = gpus()
    for g in found:
        table.add_row(f"/physical_device:GPU:{g.index}", g.name + (f"\n{g.uuid}" if g.uuid else ""),
                      f"{_mib_text(g.memory_used, unit=False)} / {_mib_text(g.memory_total)}",
                      "-" if g.utilization is None else f"{g.utilization} %",
                      "-" if g.compute_capability is None else
                      ".".join(map(str, g.compute_capability)),
                      g.driver_version or "-")
    console = Console(markup=False, emoji=False, highlight=False,
                      width=None if sys.stdout.isatty() else 160)
    console.print(table)
    if not found:
        console.print("no GPU found (NVML, nvidia-smi and libcuda probed); edgeport runs on "
                      "the CPU")
    return 0


def _mib_text(nbytes: int | None, unit: bool = True) -> str:
    """Bytes as whole MiB, as nvidia-smi shows them ("?" when unknown)."""
    if nbytes is None:
        return "?"
    return f"{nbytes // MIB}" + (" MiB" if unit else "")
