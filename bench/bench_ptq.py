"""Benchmark full-integer post-training quantization: edgeport against the official converter.

    python bench/bench_ptq.py [--models MobileNetV2,digits] [--runs N] [--tf-python PATH]
                              [--calibration-batch-size N] [--out FILE]

For each model, with the same 100 calibration samples on both sides, float input/output and
``supported_ops = [TFLITE_BUILTINS_INT8]``:
- conversion time: ``converter.convert()`` alone (calibration included, imports and model
  loading excluded), each converter in a fresh process: edgeport's TFLiteConverter in this
  Python, tf.lite.TFLiteConverter in the TensorFlow environment (``--tf-python``, default
  /tmp/tfenv/bin/python; TensorFlow is never an edgeport dependency). Target: edgeport at most
  1/5 of the official time.
- LiteRT latency (ai_edge_litert, default kernels, 1 thread, batch 1, median of ``--runs``,
  the models timed in interleaved rounds so that machine drift hits all alike) of both int8
  models and of the float model. Targets: edgeport's int8 within 5% of the official int8, and
  at least 2x faster than float.
- accuracy on the digits test split in LiteRT (target: edgeport's int8 not below the
  official's), and file size (target: not above the official's).

Models: MobileNetV2 (keras.applications, random weights, 224x224x3) with realistic
batch-norm statistics (random gamma/beta, moving mean/variance set from a batch of the
calibration distribution), calibrated on 100 random images; and edgeport's shipped digits CNN
(edgeport.examples), calibrated on 100 of its training images.

Updates only the ``bench_ptq`` section of BENCHMARKS.md (bench/report.py). Ratios only mean
something within one run: these machines are shared and absolute times drift.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.report import BENCHMARKS, load_average, update_section  # noqa: E402

SECTION = "bench_ptq"
CALIBRATION_SAMPLES = 100

# Each converter runs in a fresh process: argv = model.keras, calibration.npy, out prefix
# (edgeport: and the calibration batch size, "" for the converter's default); prints
# {"seconds": convert() time} as JSON on its last line.
EDGEPORT_CONVERT = """
import json, sys, time
import numpy as np
from edgeport.lite import OpsSet, Optimize, TFLiteConverter
model, data, prefix = sys.argv[1:4]
calibration = np.load(data)
open(prefix + ".float.tflite", "wb").write(TFLiteConverter.from_keras_file(model).convert())
converter = TFLiteConverter.from_keras_file(model)
converter.optimizations = [Optimize.DEFAULT]
converter.representative_dataset = lambda: ([x[None]] for x in calibration)
converter.target_spec.supported_ops = [OpsSet.TFLITE_BUILTINS_INT8]
converter.calibration_progress = False
if sys.argv[4]:
    converter.calibration_batch_size = int(sys.argv[4])
start = time.perf_counter()
data = converter.convert()
seconds = time.perf_counter() - start
open(prefix + ".int8.tflite", "wb").write(data)
print(json.dumps({"seconds": seconds}))
"""
OFFICIAL_CONVERT = """
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["KERAS_BACKEND"] = "tensorflow"
import numpy as np, tensorflow as tf, keras
model_path, data, prefix = sys.argv[1:4]
calibration = np.load(data)
model = keras.models.load_model(model_path)
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = lambda: ([x[None]] for x in calibration)
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
start = time.perf_counter()
data = converter.convert()
seconds = time.perf_counter() - start
open(prefix + ".int8.tflite", "wb").write(data)
print(json.dumps({"seconds": seconds}))
"""


def mobilenet_v2(folder: Path) -> tuple[Path, np.ndarray, None]:
    """MobileNetV2 with random weights and realistic batch-norm statistics, and 100 random
    calibration images."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    from tests.keras.helpers import numpy_initializers

    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    with numpy_initializers():
        model = keras.applications.MobileNetV2(weights=None, classifier_activation=None,
                                               input_shape=(224, 224, 3))
    images = rng.uniform(-1, 1, (CALIBRATION_SAMPLES + 16, 224, 224, 3)).astype(np.float32)
    norms = [layer for layer in model.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in norms:
        channels = layer.gamma.shape[0]
        layer.gamma.assign(rng.uniform(0.5, 1.5, channels).astype(np.float32))
        layer.beta.assign(rng.normal(0.0, 0.1, channels).astype(np.float32))
        layer.momentum = 0.0  # one training-mode pass sets the moving statistics
    model(images[CALIBRATION_SAMPLES:], training=True)  # 16 images not used for calibration
    path = folder / "MobileNetV2.keras"
    model.save(path)
    return path, images[:CALIBRATION_SAMPLES], None


def digits(folder: Path):
    from edgeport.examples import (digits_calibration_images, digits_test_split,
                                   trained_digits_model_path)

    return (trained_digits_model_path(), digits_calibration_images()[:CALIBRATION_SAMPLES],
            digits_test_split())


MODELS = {"MobileNetV2": mobilenet_v2, "digits": digits}


def convert(python: str, script: str, model: Path, data: Path, prefix: Path,
            *extra: str) -> float:
    done = subprocess.run([python, "-c", script, str(model), str(data), str(prefix), *extra],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{python} failed converting {model}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds"]


def litert(path: Path):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


def latencies(paths: dict[str, Path], sample: np.ndarray, runs: int) -> dict[str, float]:
    """Median ms per invocation at batch 1, interleaved rounds of 10."""
    interpreters = {name: litert(path) for name, path in paths.items()}
    for it in interpreters.values():
        it.set_tensor(it.get_input_details()[0]["index"], sample[None])
        for _ in range(5):
            it.invoke()
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(max(1, runs // 10)):
        for name, it in interpreters.items():
            for _ in range(10):
                start = time.perf_counter()
                it.invoke()
                times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def accuracy(path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    it = litert(path)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.resize_tensor_input(inp["index"], images.shape)
    it.allocate_tensors()
    it.set_tensor(inp["index"], images)
    it.invoke()
    return float(np.mean(it.get_tensor(out["index"]).argmax(-1) == labels))


def measure(name: str, folder: Path, tf_python: str | None, runs: int,
            batch_size: int | None) -> dict:
    model, calibration, test = MODELS[name](folder)
    data = folder / f"{name}.calibration.npy"
    np.save(data, calibration)
    ours, theirs = folder / f"{name}.edgeport", folder / f"{name}.official"
    row = {"edgeport_s": convert(sys.executable, EDGEPORT_CONVERT, model, data, ours,
                                 str(batch_size or ""))}
    paths = {"float": Path(f"{ours}.float.tflite"), "edgeport": Path(f"{ours}.int8.tflite")}
    if tf_python:
        row["official_s"] = convert(tf_python, OFFICIAL_CONVERT, model, data, theirs)
        paths["official"] = Path(f"{theirs}.int8.tflite")
    row["bytes"] = {who: path.stat().st_size for who, path in paths.items()}
    row["ms"] = latencies(paths, calibration[0], runs)
    if test is not None:
        row["accuracy"] = {who: accuracy(path, *test) for who, path in paths.items()}
    print(f"{name}: {json.dumps(row)}", flush=True)
    return row


def report(results: dict, tf_python: str | None, runs: int, batch_size: int | None,
           elapsed: float) -> str:
    lines = ["## Post-training int8 quantization vs the official converter "
             "(`bench/bench_ptq.py`)", "",
             f"Written by `python bench/bench_ptq.py` (do not edit by hand); this run took "
             f"{elapsed:.0f} s on {os.cpu_count()} logical CPUs (load {load_average()}), "
             f"Python {platform.python_version()}. Same {CALIBRATION_SAMPLES} calibration "
             "samples on both sides, float input/output, integer-only ops. Conversion: "
             "`convert()` alone, calibration included, each converter in a fresh process. "
             f"Latency: LiteRT default kernels, 1 thread, batch 1, median of {runs}. "
             "edgeport's calibration batch size: "
             f"{batch_size or 'the converter default'}."]
    if not tf_python:
        lines.append("No TensorFlow environment was found: the official columns are empty.")
    else:
        lines.append(f"Official: tf.lite.TFLiteConverter in `{tf_python}`, side by side.")
    lines += ["", "| model | convert edgeport | convert official | ratio (target <= 0.20) | "
                  "int8 ms edgeport | int8 ms official | edgeport / official (target <= 1.05) "
                  "| float ms | float / edgeport int8 (target >= 2) | size edgeport | "
                  "size official | accuracy float / edgeport / official |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, row in results.items():
        ms, size = row["ms"], row["bytes"]
        official_s = row.get("official_s")
        acc = row.get("accuracy")
        acc_text = ("-" if acc is None else " / ".join(
            f"{100 * acc[w]:.2f}%" if w in acc else "-"
            for w in ("float", "edgeport", "official")))
        lines.append(
            f"| {name} | {row['edgeport_s']:.2f} s | {_opt(official_s, '{:.2f} s')} | "
            f"{_opt(official_s and row['edgeport_s'] / official_s, '{:.2f}')} | "
            f"{ms['edgeport']:.3f} | {_opt(ms.get('official'), '{:.3f}')} | "
            f"{_opt(ms.get('official') and ms['edgeport'] / ms['official'], '{:.2f}')} | "
            f"{ms['float']:.3f} | {ms['float'] / ms['edgeport']:.2f} | "
            f"{size['edgeport'] / 1024:.1f} KiB | "
            f"{_opt(size.get('official') and size['official'] / 1024, '{:.1f} KiB')} | "
            f"{acc_text} |")
    return "\n".join(lines)


def _opt(value, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--tf-python", default="/tmp/tfenv/bin/python")
    parser.add_argument("--calibration-batch-size", type=int, metavar="N",
                        help="edgeport's calibration_batch_size (default: the converter's)")
    parser.add_argument("--out", default=str(BENCHMARKS))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tf_python = args.tf_python if Path(args.tf_python).exists() else None
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: measure(name, Path(tmp), tf_python, args.runs,
                                 args.calibration_batch_size)
                   for name in args.models.split(",")}
    body = report(results, tf_python, args.runs, args.calibration_batch_size,
                  time.perf_counter() - started)
    update_section(args.out, SECTION, body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
