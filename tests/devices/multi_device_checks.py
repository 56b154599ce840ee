"""Checks that need several logical CPU devices. XLA reads its host device count when jax
starts, so each check runs in a fresh process: ``python -m tests.devices.multi_device_checks
NAME N`` splits the CPU into N devices, runs check NAME and exits 0 (AssertionError: 1)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

import edgeport.config as config
from edgeport.export.tflite import write_tflite
from edgeport.runtime.placement import PlacementError, device
from tests.devices.helpers import Interpreter, conv_chain_graph, run

MODEL = write_tflite(conv_chain_graph(n_blocks=4))
X = np.random.default_rng(0).standard_normal((7, 16, 16, 3)).astype(np.float32)


def reference():
    return run(Interpreter(model_content=MODEL), X)[0]


def close(a, b):
    return float(np.abs(a - b).max()) <= 1e-4 * float(np.abs(b).max())


def check_configuration(names):
    assert [d.name for d in config.list_logical_devices("CPU")] == names
    cpu = config.list_physical_devices("CPU")[0]
    for call in (lambda: config.set_logical_device_configuration(
                     cpu, [config.LogicalDeviceConfiguration()] * 2),
                 lambda: config.set_visible_devices([cpu]),
                 lambda: config.experimental.set_memory_growth(cpu, True)):
        try:
            call()
        except RuntimeError as exc:
            assert "cannot be modified after being initialized" in str(exc)
        else:
            raise AssertionError("configuration after the runtime started must raise")


def check_pipeline(names):
    interpreter = Interpreter(model_content=MODEL, backend="jax", devices=names,
                              strategy="pipeline")
    assert close(run(interpreter, X)[0], reference())
    report = interpreter.placement_report()
    assert report.devices == names, report.devices  # every device has a stage
    stages = [p.device for p in report.ops]
    assert stages == sorted(stages), "stages are consecutive runs of ops"
    assert len(report.copies) == len(names), report.copies  # input + one per boundary
    # again, with a batch that does not divide evenly and a different micro-batch count
    assert close(run(interpreter, X[:3])[0], run(Interpreter(model_content=MODEL), X[:3])[0])


def check_data_parallel(names):
    interpreter = Interpreter(model_content=MODEL, backend="jax", devices=names,
                              strategy="data_parallel")
    assert close(run(interpreter, X)[0], reference())
    report = interpreter.placement_report()
    assert report.replicas == names and report.devices[:len(names)] == names


def check_scope_and_map(names):
    last = names[-1]
    with device(last):
        interpreter = Interpreter(model_content=MODEL, backend="jax",
                                  placement={"conv1": names[0], "add*": names[1]})
        out = run(interpreter, X)[0]
    assert close(out, reference())
    where = {p.op.split(" (")[1].rstrip(")"): (p.device, p.reason)
             for p in interpreter.placement_report().ops}
    assert where["conv1"] == (names[0], "placement['conv1']")
    assert all(where[f"add{i}"][0] == names[1] for i in range(4))
    assert where["conv0"] == (last, "device scope") and where["probs"][0] == last
    assert interpreter.placement_report().copies  # devices change, so copies are made


def check_strict_and_soft(names):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("edgeport.placement").addHandler(handler)
    soft = Interpreter(model_content=MODEL, backend="jax", placement={"conv2": "/GPU:0"})
    assert close(run(soft, X)[0], reference())
    assert any("fall back" in r.getMessage() for r in records)
    assert soft.placement_report().fallbacks[0].device == "/device:CPU:0"
    strict = Interpreter(model_content=MODEL, backend="jax", placement={"conv2": "/GPU:0"},
                         strict=True)
    try:
        run(strict, X)
    except PlacementError as exc:
        assert "could not satisfy explicit device specification /device:GPU:0" in str(exc)
    else:
        raise AssertionError("strict placement on a missing device must raise")


def check_one_named_device(names):
    """devices=[one CPU device, not the first]: every op runs there, none falls back."""
    interpreter = Interpreter(model_content=MODEL, backend="jax", devices=[names[-1]])
    assert close(run(interpreter, X)[0], reference())
    report = interpreter.placement_report()
    assert report.devices == [names[-1]] and not report.fallbacks, str(report)


def check_int8_strategies(names):
    """An int8 model (TensorFlow's own converter's) split across the devices, both ways, gives
    the NumPy interpreter's bits."""
    model = (Path(__file__).parents[1] / "data" / "official_digits_int8.tflite").read_bytes()
    x = np.random.default_rng(0).integers(-128, 128, (7, 8, 8, 1)).astype(np.int8)
    (want,) = run(Interpreter(model_content=model), x)
    for strategy in ("pipeline", "data_parallel"):
        interpreter = Interpreter(model_content=model, backend="jax", devices=names,
                                  strategy=strategy)
        (got,) = run(interpreter, x)
        assert got.dtype == want.dtype and np.array_equal(got, want), strategy
        report = interpreter.placement_report()
        assert {p.kernel for p in report.ops} == {"jax"} and set(report.devices) == set(names)


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items()
          if name.startswith("check_")}

if __name__ == "__main__":
    check, n = sys.argv[1], int(sys.argv[2])
    cpu = config.list_physical_devices("CPU")[0]
    config.set_logical_device_configuration(cpu, [config.LogicalDeviceConfiguration()] * n)
    CHECKS[check]([f"/device:CPU:{i}" for i in range(n)])
    print("ok")
