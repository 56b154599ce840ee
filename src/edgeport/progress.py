"""Progress bars for long work (calibration, benchmarks, training) that also read well in logs.

- On a terminal (or in a Jupyter kernel): a tqdm bar on stderr, gone when the work ends.
- When stderr is not a terminal (piped, redirected, CI): no bar, whose carriage returns would
  run into the next line of the log, but one summary line when the work ends
  (``calibrating: 100 samples in 1.2 s``).
- Off altogether with ``EDGEPORT_PROGRESS=0`` (which the CLI's ``--no-progress`` sets) or
  ``enabled=False``.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "EDGEPORT_PROGRESS"


def progress_enabled() -> bool:
    """False when ``EDGEPORT_PROGRESS`` is 0, false, no or off."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def progress(total: int | None = None, desc: str = "", unit: str = "it",
             enabled: bool = True, leave: bool = False, summary: bool = True):
    """A tqdm-like bar (``update``, ``set_description``, ``set_postfix``, ``close``, a context
    manager) that follows the rules above; ``summary=False`` drops the summary line (for a
    caller that prints its own)."""
    if not enabled or not progress_enabled():
        return Summary(desc, unit, stream=None)
    if "ipykernel" in sys.modules:
        from tqdm.auto import tqdm
    elif _is_terminal(sys.stderr):
        from tqdm import tqdm
    else:
        return Summary(desc, unit, stream=sys.stderr if summary else None)
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave,
                dynamic_ncols=True)


class Summary:
    """What stands in for a bar off a terminal: it counts, and on close prints one line to
    ``stream`` (nothing when ``stream`` is None)."""

    def __init__(self, desc: str, unit: str, stream):
        self.desc, self.unit, self.stream = desc, unit, stream
        self.n, self.postfix, self.closed = 0, "", False
        self.started = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        already, self.closed = self.closed, True
        if already or self.stream is None:  # a second close, or silenced: no line
            return
        seconds = time.perf_counter() - self.started
        units = self.unit if self.n == 1 else f"{self.unit}s"
        extra = f" ({self.postfix})" if self.postfix else ""
        print(f"{self.desc}: {self.n:,} {units} in {seconds:.1f} s{extra}", file=self.stream,
              flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
