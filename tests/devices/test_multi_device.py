"""One model on 2-4 logical CPU devices (no GPU needed): pipeline and data-parallel equal the
single-device run, the report lists every device, scopes and maps are honoured, soft fallback
logs, strict raises, and configuring devices after the runtime started raises. Each check runs
in its own process (tests/devices/multi_device_checks.py): XLA's host device count is read once,
when jax starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.devices.multi_device_checks import CHECKS

ROOT = Path(__file__).resolve().parents[2]


# Device-count independent checks run with 2 devices; the others with 2, 3 and 4.
SINGLE_COUNT = ("configuration", "int8_strategies", "one_named_device", "strict_and_soft")
CASES = [(check, n) for check in sorted(CHECKS)
         for n in ((2,) if check in SINGLE_COUNT else (2, 3, 4))]


@pytest.mark.parametrize("check, n", CASES)
def test_multi_device(check, n):
    result = subprocess.run([sys.executable, "-m", "tests.devices.multi_device_checks", check,
                             str(n)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), \
        result.stdout[-2000:] + result.stderr[-4000:]
