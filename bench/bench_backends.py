"""Throughput per image: edgeport's numpy and jax (CPU) backends against LiteRT (issue 6).

    python bench/bench_backends.py [--models MobileNetV2,ResNet50,MobileNetV2-int8]
                                   [--batches 1,32] [--runs N] [--budget SECONDS] [--out FILE]

keras.applications models (random weights, 224x224x3, logits out) converted by
``edgeport.lite.TFLiteConverter.from_keras_model`` (a name ending in ``-int8``: quantized to
full int8, float input and output, calibrated on 8 random images); the same .tflite bytes run in
edgeport's Interpreter with backend="numpy" (the reference; num_threads=1, its default) and
backend="jax" (jit-compiled, on jax's CPU device with XLA's own thread pool), and in LiteRT
(ai-edge-litert, default resolver, num_threads 1 and 2), at each batch. Each runtime gets one
warm-up invoke (the jax one compiles there; its time is reported apart), then up to N timed
invokes within the time budget; the median is divided by the batch. Outputs are checked against
the numpy reference (max |difference| / max |reference|).

Target (issue 6): jax-CPU at batch 32 at least as fast per image as LiteRT with 2 threads at
batch 1. GPU figures come from bench/gpu_check.py on a machine with an NVIDIA GPU.

Updates only the ``bench_backends`` section of BENCHMARKS.md (bench/report.py). One run on a
shared machine: compare figures within the run, not across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # the jax figures are jax on the CPU
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# First, before NumPy's BLAS threads and Keras's jax start: malloc then keeps XLA's per-run
# buffers for the next run (edgeport.runtime.memory says why and what it costs).
from edgeport.runtime.memory import keep_freed_memory  # noqa: E402

keep_freed_memory()

import numpy as np  # noqa: E402

from report import BENCHMARKS, ROOT, load_average, update_section  # noqa: E402

SECTION = "bench_backends"
DEFAULT_MODELS = ("MobileNetV2", "ResNet50", "MobileNetV2-int8")
RUNTIMES = ("edgeport numpy", "edgeport jax (CPU)", "LiteRT 1 thread", "LiteRT 2 threads")
TARGET_JAX, TARGET_LITERT = ("edgeport jax (CPU)", 32), ("LiteRT 2 threads", 1)
# shared/reference/anchors.md: LiteRT float, 1 thread, batch 1, on a quiet machine (ms)
ANCHOR_LITERT_MS = {"MobileNetV2": 3.6, "ResNet50": 32.9}


@dataclass
class Timing:
    first_s: float             # the warm-up invoke (jax: tracing and compilation included)
    per_image_s: list[float]   # each timed invoke's time / batch
    error: float | None = None  # max |out - numpy out| / max |numpy out|

    @property
    def per_image_ms(self) -> float:
        return statistics.median(self.per_image_s) * 1000


@dataclass
class ModelRun:
    name: str
    params: int
    tflite_bytes: int
    timings: dict[tuple[str, int], Timing] = field(default_factory=dict)  # (runtime, batch)


def convert(name: str) -> tuple[bytes, int]:
    """The keras.applications model ``name`` (``-int8``: quantized) as .tflite bytes
    (edgeport's converter)."""
    import keras

    sys.path.insert(0, str(ROOT))
    from tests.keras.helpers import numpy_initializers

    from edgeport.lite import Optimize, TFLiteConverter

    architecture, _, variant = name.partition("-")
    keras.utils.set_random_seed(0)
    with numpy_initializers():
        model = getattr(keras.applications, architecture)(
            weights=None, input_shape=(224, 224, 3), classifier_activation=None)
    converter = TFLiteConverter.from_keras_model(model)
    if variant == "int8":
        rng = np.random.default_rng(0)
        converter.optimizations = [Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)] for _ in range(8))
        converter.calibration_progress = False
    return converter.convert(), model.count_params()


def interpreter(content: bytes, runtime: str):
    if runtime.startswith("LiteRT"):
        from ai_edge_litert.interpreter import Interpreter as LiteRT

        return LiteRT(model_content=content, num_threads=int(runtime.split()[1]))
    from edgeport.lite import Interpreter

    return Interpreter(model_content=content, backend=runtime.split()[1])


def time_runtime(content: bytes, runtime: str, x: np.ndarray, runs: int, budget_s: float
                 ) -> tuple[Timing, np.ndarray]:
    """Warm-up invoke, then up to ``runs`` timed invokes within ``budget_s`` (at least one)."""
    it = interpreter(content, runtime)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.resize_tensor_input(inp["index"], x.shape)
    it.allocate_tensors()
    it.set_tensor(inp["index"], x)
    start = time.perf_counter()
    it.invoke()
    first = time.perf_counter() - start
    times, spent = [], 0.0
    while len(times) < runs and (not times or spent + times[-1] <= budget_s):
        start = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    y = it.get_tensor(out["index"]).copy()
    batch = x.shape[0]
    return Timing(first, [t / batch for t in times]), y


def bench_model(name: str, batches: list[int], runs: int, budget_s: float) -> ModelRun:
    content, params = convert(name)
    result = ModelRun(name, params, len(content))
    for batch in batches:
        x = np.random.default_rng(batch).uniform(-1, 1, (batch, 224, 224, 3)).astype(np.float32)
        reference = None
        for runtime in RUNTIMES:
            timing, y = time_runtime(content, runtime, x, runs, budget_s)
            if reference is None:
                reference = y
            else:
                scale = max(float(np.abs(reference).max()), 1e-30)
                timing.error = float(np.abs(y - reference).max()) / scale
            result.timings[runtime, batch] = timing
            print(f"{name:12s} b{batch:<3d} {runtime:20s} {timing.per_image_ms:9.2f} ms/img "
                  f"(first invoke {timing.first_s:.2f} s, {len(timing.per_image_s)} timed)",
                  flush=True)
    return result


def gpu_line() -> str:
    import edgeport.config as config

    gpus = config.list_physical_devices("GPU")
    if gpus:
        return (f"GPU: this machine has {len(gpus)} GPU(s) ({', '.join(g.name for g in gpus)}), "
                "not used here: `python bench/gpu_check.py` measures numpy-CPU, jax-CPU and "
                "jax-GPU at batch 1/32/256 (section `gpu_check`).")
    return ("GPU: none on this machine, so none is measured here. The GPU figures come from "
            "`python bench/gpu_check.py` on a machine with an NVIDIA GPU and jax's CUDA plugin "
            "(section `gpu_check`; bench/README.md says how to run it on this project's device "
            "machines): jax-GPU checked against numpy on MobileNetV2, and numpy-CPU / jax-CPU / "
            "jax-GPU throughput at batch 1/32/256, with the card and date.")


def report(results: list[ModelRun], batches: list[int], runs: int, budget_s: float,
           elapsed: float, loads: tuple[str, str]) -> str:
    from importlib.metadata import version

    lines = ["## Backends: edgeport numpy vs jax (CPU) vs LiteRT (`bench/bench_backends.py`)", "",
             f"Written by `python bench/bench_backends.py` (do not edit by hand); one run of "
             f"{elapsed:.0f} s on {os.cpu_count()} logical CPUs ({platform.machine()}), "
             f"load average {loads[0]} at the start and {loads[1]} at the end (1/5/15 min; the "
             f"machine is shared). Python {platform.python_version()}, NumPy {np.__version__}, "
             f"jax {version('jax')}, ai-edge-litert {version('ai-edge-litert')}.",
             "",
             "keras.applications models with random weights, 224x224x3, logits out "
             "(`classifier_activation=None`), converted by "
             "`edgeport.lite.TFLiteConverter.from_keras_model` (`-int8`: quantized to full int8 "
             "with float input and output, calibrated on 8 random images, so 'err' of jax says "
             "whether its integer results equal numpy's); the same .tflite runs everywhere. "
             "edgeport numpy: `Interpreter(...)` (the reference; BLAS on 1 thread, its default). "
             "edgeport jax: `Interpreter(..., backend=\"jax\")` on jax's CPU device (XLA uses "
             "every core). LiteRT: default resolver (XNNPACK), `num_threads` 1 or 2. One "
             f"warm-up invoke, then the median of up to {runs} invokes within {budget_s:g} s; "
             "ms per image (batch time / batch). 'first' is the warm-up invoke in seconds (jax "
             "traces and compiles there). 'err' is max |output - numpy output| / max |numpy "
             "output|.", ""]
    head = "| model | runtime | " + " | ".join(
        f"b{b} ms/img | b{b} img/s | b{b} first | b{b} err" for b in batches) + " |"
    lines += [head, "|---|---|" + "---:|" * (4 * len(batches))]
    for r in results:
        for runtime in RUNTIMES:
            cells = []
            for b in batches:
                t = r.timings[runtime, b]
                cells += [f"{t.per_image_ms:.2f}", f"{1000 / t.per_image_ms:.1f}",
                          f"{t.first_s:.2f} s", "ref" if t.error is None else f"{t.error:.1e}"]
            lines.append(f"| {r.name} ({r.params / 1e6:.1f} M params) | {runtime} | "
                         + " | ".join(cells) + " |")
    lines += ["", "Target (issue 6): edgeport jax (CPU) at batch 32 at least as fast per image as "
                  "LiteRT with 2 threads at batch 1 (float models).", ""]
    for r in results:
        if r.name.endswith("-int8"):
            continue
        jax, litert = r.timings.get(TARGET_JAX), r.timings.get(TARGET_LITERT)
        if jax is None or litert is None:
            lines.append(f"- {r.name}: not measured (needs batches 1 and 32).")
            continue
        met = jax.per_image_ms <= litert.per_image_ms
        numpy32 = r.timings.get(("edgeport numpy", 32))
        lines.append(
            f"- {r.name}: jax-CPU b32 {jax.per_image_ms:.2f} ms/img vs LiteRT 2 threads b1 "
            f"{litert.per_image_ms:.2f} ms/img: {jax.per_image_ms / litert.per_image_ms:.1f}x, "
            f"**{'met' if met else 'not met'}**"
            + (f" (numpy b32: {numpy32.per_image_ms:.2f} ms/img, jax/numpy "
               f"{jax.per_image_ms / numpy32.per_image_ms:.2f}x)." if numpy32 else "."))
    busy = [f"{r.name} {r.timings['LiteRT 1 thread', 1].per_image_ms:.1f} ms here vs "
            f"{ANCHOR_LITERT_MS[r.name]} ms recorded"
            for r in results if r.name in ANCHOR_LITERT_MS and ("LiteRT 1 thread", 1) in r.timings]
    if busy:
        lines += ["", "How busy the machine was: LiteRT 1 thread at batch 1, "
                      + "; ".join(busy) + " in shared/reference/anchors.md (same machine type, "
                      "quiet). Where LiteRT's 2 threads are slower than 1, the second core was "
                      "taken by other work; all runtimes here shared the same conditions."]
    lines += ["", gpu_line()]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--runs", type=int, default=5, help="timed invokes at most")
    parser.add_argument("--budget", type=float, default=8.0,
                        help="seconds of timed invokes per runtime and batch (at least one)")
    parser.add_argument("--out", default=str(BENCHMARKS))
    args = parser.parse_args(argv)
    started, load_start = time.perf_counter(), load_average()
    batches = [int(b) for b in args.batches.split(",")]
    results = [bench_model(name, batches, args.runs, args.budget)
               for name in args.models.split(",")]
    section = report(results, batches, args.runs, args.budget, time.perf_counter() - started,
                     (load_start, load_average()))
    update_section(Path(args.out), SECTION, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
