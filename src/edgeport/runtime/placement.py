"""Where each op runs: device scopes, placement maps, soft/strict fallback, and the report.

Priority for an op's device (research notes, "a simple, correct design"): an explicit
``placement={op or layer name: device}`` entry, then the strategy's assignment (a pipeline
stage), then the innermost ``with edgeport.device(...)`` scope, then the default device (the
first GPU, else the CPU). An op whose backend has no kernel for it there, or whose device does
not exist, falls back to /device:CPU:0 (NumPy kernels on the host) with one logged warning
(soft placement), or raises with ``strict=True`` (TF's "Could not satisfy explicit device
specification").
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import logging
import re
import sys
from dataclasses import dataclass, field

from ..errors import EdgeportError
from ..graph import Op
from ..ops import OpDef, get_op
from .devices import STATE

log = logging.getLogger("edgeport.placement")
HOST = "/device:CPU:0"
_DEVICE_NAME = re.compile(r"^(?:/job:[^/]+)?(?:/replica:\d+)?(?:/task:\d+)?/?(?:device:)?"
                          r"(?P<type>cpu|gpu)(?::(?P<index>\d+))?$", re.IGNORECASE)


class PlacementError(EdgeportError):
    """An op cannot run where it was explicitly placed, and placement is strict."""


def canonical_device(device) -> str:
    """'/device:GPU:1' for '/GPU:1', 'gpu:1', 'GPU', '/job:localhost/.../device:GPU:1' or a
    LogicalDevice / PhysicalDevice."""
    name = getattr(device, "name", device)
    match = _DEVICE_NAME.match(str(name).replace("/physical_device:", "/device:"))
    if match is None:
        raise ValueError(f"{device!r} is not a device name; use e.g. '/GPU:0' or '/CPU:1'")
    return f"/device:{match['type'].upper()}:{int(match['index'] or 0)}"


# -- scopes ------------------------------------------------------------------------------------
_SCOPE: contextvars.ContextVar[str | None] = contextvars.ContextVar("edgeport_device",
                                                                     default=None)


@contextlib.contextmanager
def device(name):
    """``with edgeport.device('/GPU:1'):`` the interpreters planned inside run their ops there
    (unless a placement map says otherwise); ``device(None)`` clears an outer scope."""
    token = _SCOPE.set(None if name is None else canonical_device(name))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def current_device() -> str | None:
    return _SCOPE.get()


def set_log_device_placement(enabled: bool) -> None:
    """Print where every op runs when a model is planned (tf.debugging's switch)."""
    STATE.log_placement = bool(enabled)


def get_log_device_placement() -> bool:
    return STATE.log_placement


# -- the plan and its report -------------------------------------------------------------------
@dataclass
class OpPlacement:
    op: str           # the op's label: type (origin)
    device: str
    kernel: str       # "jax" or "numpy"
    reason: str       # placement map, pipeline stage, scope, default, fallback: why


@dataclass
class Copy:
    tensor: str
    source: str       # a device, or "host" for graph inputs
    destination: str
    nbytes: int


@dataclass
class PlacementReport:
    """What ran where (one entry per op that runs, in order), the copies made between
    devices, and the fallbacks to the CPU."""

    ops: list[OpPlacement] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    strategy: str | None = None
    replicas: list[str] = field(default_factory=list)  # data_parallel: one per device

    @property
    def devices(self) -> list[str]:
        """Every device something ran on, in first-use order."""
        return list(dict.fromkeys([*self.replicas, *(p.device for p in self.ops)]))

    @property
    def fallbacks(self) -> list[OpPlacement]:
        return [p for p in self.ops if p.reason.startswith("fallback")]

    def __str__(self) -> str:
        lines = [f"strategy: {self.strategy or 'single device'}; devices: "
                 f"{', '.join(self.devices)}"]
        if self.replicas:
            lines.append(f"replicas (each runs every op below): {', '.join(self.replicas)}")
        width = max((len(p.op) for p in self.ops), default=2)
        lines += [f"{p.op:<{width}}  {p.device:<15} {p.kernel:<6} {p.reason}" for p in self.ops]
        lines += [f"copy {c.tensor}: {c.source} -> {c.destination} ({c.nbytes} bytes)"
                  for c in self.copies]
        return "\n".join(lines)


def place_ops(ops: list[Op], available: list[str], has_kernel, placement=None,
              assigned: dict[int, str] | None = None, strict: bool | None = None,
              source: str = "model", present: list[str] | None = None) -> list[OpPlacement]:
    """One OpPlacement per op. ``available``: the devices the ops may use (the user's
    ``devices=``, which may name devices this machine lacks); ``present``: the devices that
    exist (default: all of ``available``). Ops go to the first GPU of ``available``, else its
    first device, unless a placement, strategy or scope says otherwise. ``has_kernel(op)`` says
    whether the accelerated backend can run it; ``assigned`` (by id(op)) is the strategy's
    choice; ``placement`` maps op/layer names or glob patterns (matched against the op's origin
    and output tensor names) to devices."""
    strict = (not STATE.soft_placement) if strict is None else strict
    wanted = {key: canonical_device(value) for key, value in (placement or {}).items()}
    unused = set(wanted)
    scope = current_device()
    default = next((d for d in available if "GPU" in d), available[0] if available else HOST)
    usable = [d for d in available if present is None or d in present]
    plans, fallbacks = [], []
    for op in ops:
        key = next((k for k in wanted if _matches(k, op)), None)
        if key is not None:
            unused.discard(key)
            device, reason = wanted[key], f"placement[{key!r}]"
        elif assigned and id(op) in assigned:
            device, reason = assigned[id(op)], "strategy"
        elif scope is not None:
            device, reason = scope, "device scope"
        else:
            device, reason = default, "default"
        problem = (_missing(device, available, present) if device not in usable else
                   None if has_kernel(op) else f"no jax kernel for {op.type}")
        if problem is None:
            plans.append(OpPlacement(op.label, device, "jax", reason))
        elif device == HOST and device in usable:  # the host runs every op, on NumPy
            plans.append(OpPlacement(op.label, device, "numpy", reason))
        elif strict:
            raise PlacementError(f"{source}: could not satisfy explicit device specification "
                                 f"{device} for op {op.label}: {problem}")
        else:
            fallbacks.append(f"{op.label} ({problem})")
            plans.append(OpPlacement(op.label, HOST, "jax" if has_kernel(op) else "numpy",
                                     f"fallback from {device}: {problem}"))
    if unused:
        raise ValueError(f"{source}: placement keys {sorted(unused)} match no op "
                         "(keys are op origins, output tensor names or glob patterns)")
    if fallbacks:
        log.warning("%s: %d op(s) fall back to %s: %s", source, len(fallbacks), HOST,
                    "; ".join(fallbacks[:10]) + (" ..." if len(fallbacks) > 10 else ""))
    if STATE.log_placement:
        for plan in plans:
            print(f"op {plan.op} in device {plan.device} ({plan.kernel})", file=sys.stderr)
    return plans


def _missing(device: str, available: list[str], present: list[str] | None) -> str:
    if present is not None and device not in present:
        return f"no device {device} (devices: {', '.join(present)})"
    return f"{device} is not among the devices given ({', '.join(available)})"


def _matches(key: str, op: Op) -> bool:
    names = [n for n in (op.origin, *op.outputs) if n]
    return any(key == n or fnmatch.fnmatchcase(n, key) for n in names)


# -- cost model and pipeline partition ---------------------------------------------------------
def op_cost(op: Op, shapes: dict[str, tuple[int, ...]]) -> float:
    """Estimated work of an op (`OpDef.cost`: multiply-adds for convolutions and matrix
    products, output elements for everything else, custom ops included)."""
    definition = None if op.is_custom else get_op(op.type)
    return (definition or OpDef()).cost(op, shapes)


def balanced_stages(costs: list[float], n: int) -> list[int]:
    """Stage index (0..n-1) of each op: consecutive runs, each stage's cost as close to
    total/n as the op boundaries allow, and no stage empty while ops remain."""
    total = sum(costs) or 1.0
    stages, stage, running = [], 0, 0.0
    for i, cost in enumerate(costs):
        remaining_ops = len(costs) - i
        # Move on when this stage has its share, or when later stages would starve.
        if stage < n - 1 and stages and stages[-1] == stage and (
                running + cost / 2 > total * (stage + 1) / n or remaining_ops <= n - 1 - stage):
            stage += 1
        stages.append(stage)
        running += cost
    return stages
