"""GPU check for a machine with an NVIDIA GPU, jax's CUDA plugin and no network (issue 6, item 5).

    python bench/gpu_check.py [--model MODEL.tflite] [--batches 1,32,256] [--runs N]
                              [--accelerator /GPU:0]

1. lists the devices (edgeport.config, no framework started; then jax's logical devices);
2. checks jax on the accelerator against the NumPy reference on a MobileNetV2-sized model (by
   default keras.applications.MobileNetV2(weights=None) at 224x224, converted by edgeport):
   max |accelerator - numpy| <= 1e-4 of the output's scale; and the same model quantized to
   full int8 by edgeport, whose integer results must equal numpy's bit for bit;
3. prints throughput (images/s) at each batch for numpy-CPU, jax-CPU and jax on the
   accelerator, and writes them, with the card, driver and date, to the ``gpu_check`` section
   of BENCHMARKS.md (``--out``; only for a GPU whose results agree with numpy).
Exits 1 if the results disagree or the accelerator is missing. ``--accelerator /CPU:0`` runs
the whole script on a machine without a GPU, to try it out before a GPU session.

The device machines lent to this project have jax with its CUDA plugin but not keras or the
`tflite` schema package: `bash bench/gpu_wheels.sh` puts their wheels in .whl/ (ignored by
git), and bench/README.md gives the command that installs them there and runs this script.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from edgeport.runtime.memory import keep_freed_memory  # noqa: E402

keep_freed_memory()  # before NumPy's BLAS threads and jax start (edgeport.runtime.memory)

import numpy as np  # noqa: E402

import edgeport  # noqa: E402
import edgeport.config as config  # noqa: E402
from edgeport.lite import Interpreter  # noqa: E402
from edgeport.ops.compiled import compiled_kernels_status  # noqa: E402
from report import BENCHMARKS, update_section  # noqa: E402

SECTION = "gpu_check"


def mobilenet_v2() -> bytes:
    import keras

    model = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3),
                                           classifier_activation=None)  # logits: a real check
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mobilenet_v2.keras")
        model.save(path)
        return edgeport.lite.TFLiteConverter.from_keras_file(path).convert()


def full_int8(content: bytes) -> bytes:
    """``content`` quantized to full int8 by edgeport (float input and output), calibrated
    on a few random images."""
    rng = np.random.default_rng(0)
    shape = Interpreter(model_content=content).get_input_details()[0]["shape"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "float.tflite")
        path.write_bytes(content)
        converter = edgeport.lite.TFLiteConverter.from_tflite(path)
        converter.optimizations = [edgeport.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [rng.uniform(-1, 1, (1, *shape[1:])).astype(np.float32)] for _ in range(4))
        converter.calibration_progress = False
        return converter.convert()


def int8_mismatches(content: bytes, device: str) -> tuple[int, int]:
    """(values that differ, values) between the int8 model on ``device`` and on numpy."""
    runs = [make(content, "numpy", None, 4), make(content, "jax", device, 4)]
    for interpreter in runs:
        interpreter.invoke()
    want, got = (output(interpreter) for interpreter in runs)
    return int(np.sum(want != got)), want.size


def make(content: bytes, backend: str, device: str | None, batch: int):
    interpreter = Interpreter(model_content=content, backend=backend,
                              devices=[device] if device else None)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
    interpreter.allocate_tensors()
    x = np.random.default_rng(batch).uniform(-1, 1, (batch, *detail["shape"][1:]))
    interpreter.set_tensor(detail["index"], x.astype(np.float32))
    return interpreter


def output(interpreter) -> np.ndarray:
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def throughput(interpreter, batch: int, runs: int, budget_s: float = 20.0) -> float:
    interpreter.invoke()  # compile / warm up
    start, done = time.perf_counter(), 0
    while done < runs and time.perf_counter() - start < budget_s:
        interpreter.invoke()
        done += 1
    return batch * done / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help=".tflite model (default: MobileNetV2 224x224 via keras)")
    parser.add_argument("--batches", default="1,32,256")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", default=str(BENCHMARKS), help="report path")
    parser.add_argument("--accelerator", default="/GPU:0",
                        help="the device to check (/CPU:0 tries the script out without a GPU)")
    args = parser.parse_args()
    accelerator = args.accelerator
    kind = "GPU" if "GPU" in accelerator.upper() else "CPU"

    print("physical devices:", config.list_physical_devices())
    gpus = config.list_physical_devices("GPU")
    for gpu in gpus:
        print(" ", gpu.name, config.experimental.get_device_details(gpu))
    logical = config.list_logical_devices()
    print("logical devices:", [d.name for d in logical])
    if not any(d.device_type == kind for d in logical):
        print(f"FAIL: jax sees no {kind} (is jax's CUDA plugin installed?)")
        return 1
    content = Path(args.model).read_bytes() if args.model else mobilenet_v2()

    # correctness at batch 4: jax on the accelerator (and jax-CPU) against the NumPy reference
    errors = {}
    for name, device in (("jax-CPU", "/CPU:0"), (f"jax on {accelerator}", accelerator)):
        interpreter = make(content, "jax", device, 4)
        reference_run = make(content, "numpy", None, 4)
        reference_run.invoke()
        interpreter.invoke()
        want, got = output(reference_run), output(interpreter)
        errors[name] = float(np.abs(got - want).max()) / max(float(np.abs(want).max()), 1e-30)
        print(f"{name}: max error {errors[name]:.2e} of the output scale "
              f"({'ok' if errors[name] <= 1e-4 else 'TOO LARGE'})")
    ok = all(error <= 1e-4 for error in errors.values())
    int8 = differ, total = int8_mismatches(full_int8(content), accelerator)
    print(f"full int8 on {accelerator}: {differ} of {total} output values differ from numpy "
          f"({'bit-exact' if differ == 0 else 'NOT BIT-EXACT'})")

    card = config.experimental.get_device_details(gpus[0]) if gpus else {}
    rows = []
    for batch in (int(b) for b in args.batches.split(",")):
        for name, backend, device in (("numpy-CPU", "numpy", None), ("jax-CPU", "jax", "/CPU:0"),
                                      (f"jax on {accelerator}", "jax", accelerator)):
            if name == "numpy-CPU" and batch > 32:
                continue  # minutes per run; the batch-32 figure says enough
            rate = throughput(make(content, backend, device, batch), batch, args.runs)
            print(f"batch {batch:4d}  {name:14s} {rate:10.1f} images/s")
            rows.append(f"| {name} | {batch} | {rate:.1f} | {1000 / rate:.2f} |")
    body = report(card, errors, int8, rows, args)
    print(body)
    if ok and kind == "GPU":
        update_section(args.out, SECTION, body)
        print(f"wrote section {SECTION!r} of {args.out}")
    return 0 if ok else 1


def report(card: dict, errors: dict, int8: tuple[int, int], rows: list[str], args) -> str:
    import jax

    model = args.model or "keras.applications MobileNetV2 (weights=None, 224x224, logits)"
    return "\n".join([
        "## GPU check (`bench/gpu_check.py`)", "",
        f"Written by `python bench/gpu_check.py` (do not edit by hand) on "
        f"{datetime.date.today().isoformat()}: {card.get('device_name', '?')} (compute "
        f"capability {card.get('compute_capability', '?')}, driver "
        f"{card.get('driver_version', '?')}), jax {jax.__version__}, {os.cpu_count()} CPU "
        f"cores; numpy-CPU with numba's compiled loops {compiled_kernels_status()}. Model: "
        f"{model}, converted by edgeport. Accuracy at batch 4, max |jax - numpy| "
        "/ max |numpy|: " + ", ".join(f"{n} {e:.1e}" for n, e in errors.items())
        + f"; the model quantized to full int8: {int8[0]} of {int8[1]} output values differ "
        "from numpy's on the accelerator.", "",
        "| backend | batch | images/s | ms per image |", "|---|---:|---:|---:|", *rows])


if __name__ == "__main__":
    sys.exit(main())
