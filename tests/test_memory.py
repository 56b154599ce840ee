"""edgeport.runtime.memory: after an Interpreter is allocated, freed activations are reused
rather than page-faulted in afresh on every invoke; EDGEPORT_KEEP_FREED_MEMORY=0 leaves malloc
alone. Each case runs in its own process, since malloc's settings are process-wide."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# Allocates, touches and frees a 256 MB array twice after allocating an Interpreter, and prints
# the minor page faults of the second time: with freed memory kept, its pages are already there.
PROBE = textwrap.dedent("""
    import resource
    import numpy as np
    from edgeport.examples import digits_cnn
    from edgeport.export.tflite import write_tflite
    from edgeport.lite import Interpreter

    Interpreter(model_content=write_tflite(digits_cnn())).allocate_tensors()

    def touch():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        block = np.ones(64_000_000, np.float32)
        del block
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    touch()
    print(touch())
""")


def second_touch_faults(switch: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "EDGEPORT_KEEP_FREED_MEMORY"}
    if switch is not None:
        env["EDGEPORT_KEEP_FREED_MEMORY"] = switch
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return int(done.stdout.split()[-1])


def test_interpreter_keeps_freed_memory_for_reuse():
    # 256 MB is 62,500 pages of 4 KiB (or 122 huge pages); reused memory faults on none.
    assert second_touch_faults(None) < 20
    assert second_touch_faults("0") > 100


def test_switch_off_is_honoured(monkeypatch):
    from edgeport.runtime.memory import keep_freed_memory

    monkeypatch.setenv("EDGEPORT_KEEP_FREED_MEMORY", "0")
    assert keep_freed_memory() is False
