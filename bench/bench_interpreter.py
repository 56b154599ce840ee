"""Benchmark edgeport's interpreter against LiteRT on the mediapipe 0.10.14 models.

    python bench/bench_interpreter.py [--models a,b] [--runs N] [--out BENCHMARKS.md]

In one run, for every mediapipe model LiteRT can run: LiteRT's default resolver (XNNPACK) on 1
thread, LiteRT BUILTIN_REF on 1 thread, and edgeport, each at batch 1 and batch 16 (per-image
time = batch time / 16), the median of N invokes after warmup; edgeport with its compiled loops
when numba is installed (edgeport[fast]), and again with NumPy alone. The selfie segmentation models
run too (XNNPACK implements their custom op; BUILTIN_REF cannot run them; edgeport uses the NumPy
op of tests/custom_ops.py). Then a per-op breakdown of edgeport from profiled invokes, and an
estimate of its Python overhead: the executor's dispatch loop timed with no-op kernels, and each
op's batch-independent cost (the intercept of its batch-1 and batch-16 times). Writes the report
atomically (markdown) and prints it.

Ratios only mean something within one run: these machines are shared and absolute times drift.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.corpus and tests.custom_ops

from ai_edge_litert.interpreter import Interpreter as LiteRT, OpResolverType  # noqa: E402

import edgeport  # noqa: E402
from edgeport.lite import Interpreter, register_custom_op  # noqa: E402
from edgeport.lite.interpreter import feed_inputs  # noqa: E402
from edgeport.ops.compiled import compiled_kernels_enabled, compiled_kernels_status  # noqa: E402
from edgeport.runtime.threads import blas_threads  # noqa: E402
from report import update_section  # noqa: E402  (bench/report.py)
from tests.corpus import CUSTOM_OP_MODELS, mediapipe_models  # noqa: E402
from tests.custom_ops import MEDIAPIPE_CUSTOM_OPS  # noqa: E402
from tests.test_mediapipe_models import input_range  # noqa: E402

BIG_BATCH = 16
ANCHORS = ROOT.parent / "shared" / "reference" / "anchors.md"
TARGET_VS_XNNPACK = 3.0  # edgeport per image at batch 16 within 3x of XNNPACK


@dataclass
class Timing:
    """Median seconds per invoke at batch 1 and at BIG_BATCH (None: could not run)."""

    b1: float | None = None
    big: float | None = None
    error: str = ""

    @property
    def per_image(self) -> float | None:
        return None if self.big is None else self.big / BIG_BATCH


@dataclass
class ModelResult:
    name: str
    xnnpack: Timing
    ref: Timing
    ours: Timing
    # per step of edgeport's plan: (op type, seconds at batch 1, at BIG_BATCH, per call on a
    # tiny input (NaN: not measurable))
    steps: list[tuple[str, float, float, float]] = field(default_factory=list)
    dispatch: float | None = None  # seconds per invoke of the executor loop with no-op kernels
    ours_all_threads: Timing | None = None  # edgeport with BLAS on every core
    ours_numpy_only: Timing | None = None  # edgeport with EDGEPORT_NUMBA=0 (numba installed)


# -- timing -------------------------------------------------------------------------------------
def median_invoke(invoke, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        invoke()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        invoke()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def prepared(interpreter, inputs: list[np.ndarray]):
    """``interpreter`` (tf.lite API) resized, allocated and fed ``inputs``."""
    feed_inputs(interpreter, inputs)
    return interpreter


def model_inputs(name: str, path: Path, batch: int) -> list[np.ndarray]:
    details = LiteRT(model_path=str(path)).get_input_details()
    rng = np.random.default_rng(batch)
    low, high = input_range(name)
    return [rng.uniform(low, high, (batch, *d["shape"][1:])).astype(d["dtype"])
            for d in details]


class ProfiledInvoke:
    """edgeport's invoke with per-step times kept (GraphExecutor.invoke(profile=True) records
    them in op_times, aligned with executor.steps); the two perf_counter calls per step cost
    well under a microsecond, so the invoke itself is what gets timed."""

    def __init__(self, interpreter):
        self.executor = interpreter._executor(0)
        self.samples: list[list[float]] = []

    def __call__(self) -> None:
        self.executor.invoke(profile=True)
        self.samples.append(self.executor.op_times)

    def step_medians(self, skip: int) -> np.ndarray:
        return np.median(np.array(self.samples[skip:] or self.samples), axis=0)


def time_runtime(make, name: str, path: Path, runs: int, warmup: int,
                 invoker=lambda interpreter: interpreter.invoke) -> tuple[Timing, dict]:
    """Timing of the interpreters ``make()`` returns, and their invokers by batch."""
    timing, invokers = Timing(), {}
    try:
        for batch in (1, BIG_BATCH):
            invoke = invoker(prepared(make(), model_inputs(name, path, batch)))
            invokers[batch] = invoke
            seconds = median_invoke(invoke, runs, warmup)
            if batch == 1:
                timing.b1 = seconds
            else:
                timing.big = seconds
    except Exception as exc:  # a runtime that cannot run the model: reported, not fatal
        timing.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    return timing, invokers


def profile_steps(invokers: dict, warmup: int) -> list[tuple[str, float, float]]:
    """(op type, median seconds at batch 1, at BIG_BATCH) per planned step."""
    types = [step.op.type for step in invokers[1].executor.steps]
    b1 = invokers[1].step_medians(warmup)
    if [step.op.type for step in invokers[BIG_BATCH].executor.steps] == types:
        big = invokers[BIG_BATCH].step_medians(warmup)
    else:  # a different plan per batch: keep the batch-1 view only
        big = [float("nan")] * len(types)
    return [(t, float(x), float(y)) for t, x, y in zip(types, b1, big)]


def recorded_run(executor) -> tuple[list[list], list[list]]:
    """The inputs and outputs of every step in one invoke."""
    kernels = [step.kernel for step in executor.steps]
    inputs, outputs = [], []

    def recording(kernel):
        def run(args):
            inputs.append(list(args))
            outputs.append(kernel(args))
            return outputs[-1]
        return run

    try:
        for step, kernel in zip(executor.steps, kernels):
            step.kernel = recording(kernel)
        executor.invoke()
    finally:
        for step, kernel in zip(executor.steps, kernels):
            step.kernel = kernel
    return inputs, outputs


def dispatch_seconds(executor, outputs: list[list], runs: int) -> float:
    """Seconds per invoke of the executor's loop alone: every kernel replaced by one returning
    its recorded outputs, so what remains is edgeport's per-step bookkeeping (input lists, dict
    stores, releases), not any kernel."""
    kernels = [step.kernel for step in executor.steps]
    try:
        for step, result in zip(executor.steps, outputs):
            step.kernel = lambda inputs, result=result: result
        return median_invoke(executor.invoke, max(runs, 5), 1)
    finally:
        for step, kernel in zip(executor.steps, kernels):
            step.kernel = kernel


TINY = 4  # pixels per side of the cut inputs


def per_call_seconds(executor, inputs: list[list], outputs: list[list],
                     reps: int = 10) -> list[float]:
    """Seconds per call of each step's kernel on its recorded inputs cut to at most TINY x TINY
    pixels (rank-4 inputs that are not constants): the cost of calling the op with next to no
    arithmetic (Python, NumPy dispatch, allocation, per-call weight work; an upper bound, since
    a TINY x TINY slice still computes). NaN where the op rejects the cut inputs or its output
    size is pinned by constants (RESHAPE, RESIZE_BILINEAR to a fixed size)."""
    with np.errstate(all="ignore"):  # as the executor runs kernels
        return [_per_call(step, args, real, executor.constants, reps)
                for step, args, real in zip(executor.steps, inputs, outputs)]


def _per_call(step, args: list, real: list, constants: dict, reps: int) -> float:
    cut = [a[:, :TINY, :TINY] if a is not None and a.ndim == 4 and name not in constants else a
           for name, a in zip(step.inputs, args)]
    try:
        small = step.kernel(cut)
    except Exception:
        return float("nan")
    if any(o.ndim == 4 and o.shape[1] * o.shape[2] > TINY * TINY and c.shape == o.shape
           for c, o in zip(small, real)):
        return float("nan")
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(reps):
            step.kernel(cut)
        best = min(best, (time.perf_counter() - start) / reps)
    return best


def bench_model(name: str, path: Path, runs: int, warmup: int) -> ModelResult:
    xnnpack, _ = time_runtime(lambda: LiteRT(model_path=str(path), num_threads=1),
                              name, path, runs, warmup)
    if name in CUSTOM_OP_MODELS:  # the reference kernels have no mediapipe custom ops
        ref = Timing(error="BUILTIN_REF has no " + ", ".join(sorted(CUSTOM_OP_MODELS[name])))
    else:
        ref, _ = time_runtime(
            lambda: LiteRT(model_path=str(path), num_threads=1,
                           experimental_op_resolver_type=OpResolverType.BUILTIN_REF),
            name, path, runs, warmup)
    # edgeport on one thread (its default), as LiteRT gets one: the comparison the targets mean.
    ours, invokers = time_runtime(lambda: Interpreter(model_path=str(path), num_threads=1),
                                  name, path, runs, warmup, ProfiledInvoke)
    result = ModelResult(name, xnnpack, ref, ours)
    if compiled_kernels_enabled():
        with numba_off():
            result.ours_numpy_only, _ = time_runtime(
                lambda: Interpreter(model_path=str(path), num_threads=1), name, path, runs, warmup)
    if (os.cpu_count() or 1) > 1:  # num_threads=-1: BLAS keeps its own default, every core
        result.ours_all_threads, _ = time_runtime(
            lambda: Interpreter(model_path=str(path), num_threads=-1), name, path, runs, warmup)
    if not ours.error:
        executor = invokers[1].executor
        with blas_threads(1):
            inputs, outputs = recorded_run(executor)
            result.dispatch = dispatch_seconds(executor, outputs, runs)
            tiny = per_call_seconds(executor, inputs, outputs)
        result.steps = [(*step, t) for step, t in zip(profile_steps(invokers, warmup), tiny)]
    return result


@contextmanager
def numba_off():
    """edgeport without its compiled loops (edgeport.ops.compiled), NumPy alone, inside."""
    before = os.environ.get("EDGEPORT_NUMBA")
    os.environ["EDGEPORT_NUMBA"] = "0"
    try:
        yield
    finally:
        if before is None:
            del os.environ["EDGEPORT_NUMBA"]
        else:
            os.environ["EDGEPORT_NUMBA"] = before


# -- the report -----------------------------------------------------------------------------------
def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def ratio_text(value: float | None, target: float | None = None) -> str:
    if value is None:
        return "-"
    mark = "" if target is None else (" ✓" if value <= target else " ✗")
    return f"{value:.2f}×{mark}"


def machine_info() -> list[str]:
    lines = [f"- CPU: {_cpu_name()}, {os.cpu_count()} logical CPUs; "
             f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
             f"- NumPy {np.__version__}; BLAS: {_blas()}",
             f"- edgeport {getattr(edgeport, '__version__', '?')}; "
             f"ai-edge-litert {_version('ai-edge-litert')}. LiteRT runs on 1 thread and so does "
             "edgeport (num_threads=1, its default) in the main table.",
             "- edgeport's compiled loops (DEPTHWISE_CONV_2D, RESIZE_BILINEAR, PRELU, the "
             "integer kernels' output stage): "
             + (f"numba {_version('numba')} (`pip install edgeport[fast]`)"
                if compiled_kernels_enabled() else compiled_kernels_status())]
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("OPENBLAS", "OMP_", "MKL_", "NVPL_")) or k.endswith("_NUM_THREADS")}
    if env:
        lines.append("- Environment: " + ", ".join(f"`{k}={v}`" for k, v in sorted(env.items())))
    return lines


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def _blas() -> str:
    try:
        config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        text = f"{config.get('name')} {config.get('version')}"
        if config.get("openblas configuration"):
            text += f" ({config['openblas configuration']})"
    except Exception:  # older NumPy: no dict mode
        text = "unknown (numpy.show_config has no dict mode)"
    try:
        from threadpoolctl import threadpool_info
        pools = [f"{p['internal_api']} {p['num_threads']} threads" for p in threadpool_info()]
        text += "; threadpoolctl: " + (", ".join(pools) or "no pools")
    except ImportError:
        text += "; threadpoolctl not installed"
    return text


def anchors() -> list[str]:
    """The LiteRT-on-mediapipe section of shared/reference/anchors.md, quoted."""
    if not ANCHORS.exists():
        return [f"({ANCHORS} not found)"]
    text = ANCHORS.read_text()
    start = text.find("## LiteRT on the mediapipe")
    end = text.find("\n## ", start + 1)
    section = text[start:end if end != -1 else None].strip().splitlines()[1:]
    return (["From `shared/reference/anchors.md` (measured on another day; compare ratios, "
             "not absolute times):", ""] + [f"> {line}" if line else ">" for line in section])


def latency_table(results: list[ModelResult]) -> list[str]:
    lines = [f"| model | XNNPACK b1 | REF b1 | edgeport b1 | XNNPACK b{BIG_BATCH}/img "
             f"| REF b{BIG_BATCH}/img | edgeport b{BIG_BATCH}/img | edgeport/REF b1 "
             f"| edgeport/REF b{BIG_BATCH} | edgeport/XNNPACK b{BIG_BATCH}/img |",
             "|---|" + "---:|" * 9]
    for r in results:
        lines.append(
            f"| {r.name} | {ms(r.xnnpack.b1)} | {ms(r.ref.b1)} | {ms(r.ours.b1)} "
            f"| {ms(r.xnnpack.per_image)} | {ms(r.ref.per_image)} | {ms(r.ours.per_image)} "
            f"| {ratio_text(ratio(r.ours.b1, r.ref.b1), 1.0)} "
            f"| {ratio_text(ratio(r.ours.big, r.ref.big), 1.0)} "
            f"| {ratio_text(ratio(r.ours.per_image, r.xnnpack.per_image), TARGET_VS_XNNPACK)} |")
    notes = [f"- {r.name}: {which}: {t.error}" for r in results
             for which, t in (("XNNPACK", r.xnnpack), ("BUILTIN_REF", r.ref), ("edgeport", r.ours))
             if t.error]
    return lines + ([""] + ["Not measured:"] + notes if notes else [])


def variant_table(results: list[ModelResult], variant: str, main_name: str, name: str,
                  missing: str, against_target: bool = False) -> list[str]:
    """edgeport's main timing beside another run of it (``variant``, a ModelResult field;
    ``missing`` where no model has it): both at batch 1 and per image at BIG_BATCH, the
    variant's time over the main one's, and with ``against_target`` the variant against the
    XNNPACK target."""
    rows = [r for r in results if getattr(r, variant) is not None]
    if not rows:
        return [missing]
    lines = [f"| model | b1, {main_name} | b1, {name} | b{BIG_BATCH}/img, {main_name} "
             f"| b{BIG_BATCH}/img, {name} | {name} vs {main_name}, b1 "
             f"| {name} vs {main_name}, b{BIG_BATCH} |"
             + (f" {name}/XNNPACK b{BIG_BATCH}/img |" if against_target else ""),
             "|---|" + "---:|" * (7 if against_target else 6)]
    for r in rows:
        other = getattr(r, variant)
        target = ratio_text(ratio(other.per_image, r.xnnpack.per_image), TARGET_VS_XNNPACK)
        lines.append(f"| {r.name} | {ms(r.ours.b1)} | {ms(other.b1)} | {ms(r.ours.per_image)} "
                     f"| {ms(other.per_image)} | {ratio_text(ratio(other.b1, r.ours.b1))} "
                     f"| {ratio_text(ratio(other.big, r.ours.big))} |"
                     + (f" {target} |" if against_target else ""))
    return lines


@dataclass
class OpStats:
    count: int = 0  # steps across the models
    b1: float = 0.0  # seconds, summed over steps, batch 1
    big: float = 0.0  # seconds, summed over steps, batch BIG_BATCH
    per_call: float = 0.0  # seconds per call on tiny inputs, summed over the measurable steps
    measured: int = 0  # steps whose per-call cost could be measured
    b1_measured: float = 0.0  # batch-1 seconds of those steps

    @property
    def per_call_share(self) -> float:
        return self.per_call / self.b1_measured if self.b1_measured else float("nan")


def op_stats(results: list[ModelResult]) -> dict[str, OpStats]:
    stats: dict[str, OpStats] = defaultdict(OpStats)
    for r in results:
        for op_type, b1, big, tiny in r.steps:
            s = stats[op_type]
            s.count += 1
            s.b1 += b1
            s.big += big
            if not np.isnan(tiny):
                s.measured += 1
                s.per_call += tiny
                s.b1_measured += b1
    return dict(sorted(stats.items(), key=lambda item: -item[1].big))


def op_table(stats: dict[str, OpStats]) -> list[str]:
    total_b1 = sum(s.b1 for s in stats.values()) or 1.0
    total_big = sum(s.big for s in stats.values()) or 1.0
    lines = [f"| op | steps | b1 total ms | b1 share | b{BIG_BATCH}/img total ms "
             f"| b{BIG_BATCH} share | µs per step at b1 | per-call µs (tiny input) "
             "| per-call share of its b1 time |", "|---|" + "---:|" * 8]
    for op_type, s in stats.items():
        per_call = (f"{s.per_call / s.measured * 1e6:.0f}" if s.measured else "-")
        share = f"{s.per_call_share:.0%}" if s.measured else "-"
        if s.measured and s.measured < s.count:
            per_call += f" ({s.measured} of {s.count})"
        lines.append(f"| {op_type} | {s.count} | {s.b1 * 1e3:.2f} | {s.b1 / total_b1:.1%} "
                     f"| {s.big / BIG_BATCH * 1e3:.2f} | {s.big / total_big:.1%} "
                     f"| {s.b1 / s.count * 1e6:.0f} | {per_call} | {share} |")
    return lines


def overhead_table(results: list[ModelResult]) -> list[str]:
    lines = ["| model | steps | edgeport b1 ms | dispatch loop ms | µs per step "
             "| per-call ms (tiny inputs) | overhead share of b1 | steps not measurable |",
             "|---|" + "---:|" * 7]
    for r in results:
        if not r.steps:
            continue
        b1 = sum(step[1] for step in r.steps)
        per_call = sum(step[3] for step in r.steps if not np.isnan(step[3]))
        missing = sum(np.isnan(step[3]) for step in r.steps)
        lines.append(f"| {r.name} | {len(r.steps)} | {ms(r.ours.b1)} | {ms(r.dispatch)} "
                     f"| {r.dispatch / len(r.steps) * 1e6:.1f} | {per_call * 1e3:.2f} "
                     f"| {(per_call + r.dispatch) / b1:.0%} | {missing} |")
    return lines


def findings(results: list[ModelResult], stats: dict[str, OpStats]) -> list[str]:
    """'Where the time goes / next speed-up', computed from this run's numbers."""
    lines = []
    vs_ref = [(r.name, ratio(r.ours.b1, r.ref.b1), ratio(r.ours.big, r.ref.big)) for r in results]
    slower = [f"{n} (b1 {a:.2f}×, b{BIG_BATCH} {b:.2f}×)" for n, a, b in vs_ref
              if a is not None and b is not None and (a > 1 or b > 1)]
    compared = [v for v in vs_ref if v[1] is not None]
    lines.append(f"- Faster than BUILTIN_REF at both batches on "
                 f"{len(compared) - len(slower)} of {len(compared)} models"
                 + (f"; slower on: {', '.join(slower)}." if slower else "."))
    vs_x = [(r.name, ratio(r.ours.per_image, r.xnnpack.per_image)) for r in results]
    far = [f"{n} ({v:.1f}×)" for n, v in vs_x if v is not None and v > TARGET_VS_XNNPACK]
    measured = [v for _, v in vs_x if v is not None]
    if measured:
        lines.append(f"- Per image at batch {BIG_BATCH}, edgeport is {min(measured):.1f}× to "
                     f"{max(measured):.1f}× XNNPACK's time (median "
                     f"{statistics.median(measured):.1f}×); beyond the {TARGET_VS_XNNPACK:.0f}× "
                     f"target: {', '.join(far) if far else 'none'}.")
    alone = [(r.name, ratio(r.ours_numpy_only.per_image, r.xnnpack.per_image))
             for r in results if r.ours_numpy_only is not None]
    alone_measured = [v for _, v in alone if v is not None]
    if alone_measured:
        far = [f"{n} ({v:.1f}×)" for n, v in alone if v is not None and v > TARGET_VS_XNNPACK]
        lines.append(f"- With NumPy alone (no numba) it is {min(alone_measured):.1f}× to "
                     f"{max(alone_measured):.1f}× (median "
                     f"{statistics.median(alone_measured):.1f}×); beyond the target: "
                     f"{', '.join(far) if far else 'none'}.")
    threaded = [ratio(r.ours_all_threads.b1, r.ours.b1) for r in results
                if r.ours_all_threads is not None and ratio(r.ours_all_threads.b1, r.ours.b1)]
    if threaded:
        lines.append(f"- BLAS on {os.cpu_count()} threads instead of 1 changes batch-1 time by "
                     f"{min(threaded):.2f}× to {max(threaded):.2f}× (median "
                     f"{statistics.median(threaded):.2f}×)"
                     + (": keep edgeport's BLAS single-threaded for small batches."
                        if statistics.median(threaded) > 1 else "."))
    failed = [r.name for r in results if r.ours.error]
    if failed:
        lines.append(f"- edgeport could not run: {', '.join(failed)} (see 'Not measured').")
    if not stats:
        return lines
    total_b1 = sum(s.b1 for s in stats.values())
    total_big = sum(s.big for s in stats.values())
    top_big = list(stats.items())[:3]
    lines.append(f"- At batch {BIG_BATCH} the time goes to " + ", ".join(
        f"{op} {s.big / total_big:.0%}" for op, s in top_big) + " of edgeport's kernel time.")
    top_b1 = sorted(stats.items(), key=lambda item: -item[1].b1)[:3]
    lines.append("- At batch 1: " + ", ".join(f"{op} {s.b1 / total_b1:.0%}" for op, s in top_b1)
                 + ".")
    per_call = sum(s.per_call for s in stats.values())
    b1_measured = sum(s.b1_measured for s in stats.values())
    steps = sum(s.measured for s in stats.values())
    dispatch = sum(r.dispatch for r in results if r.dispatch is not None)
    all_steps = sum(s.count for s in stats.values())
    lines.append(f"- Per-call cost (kernels on ≤{TINY}×{TINY}-pixel inputs, an upper bound on "
                 "overhead) is "
                 f"{per_call / b1_measured:.0%} of the batch-1 time of the steps it was measured "
                 f"on ({per_call / steps * 1e6:.0f} µs per step); the executor's dispatch loop "
                 f"adds {dispatch / total_b1:.1%} ({dispatch / all_steps * 1e6:.1f} µs per step). "
                 "The rest is arithmetic.")
    heaviest = max(stats.items(), key=lambda item: item[1].per_call)
    op, s = heaviest
    lines.append(f"- Next speed-up: {top_big[0][0]}'s arithmetic, which dominates batched time; "
                 f"at batch 1, the per-call cost of {op} ({s.per_call * 1e3:.1f} ms over "
                 f"{s.measured} steps, {s.per_call_share:.0%} of its batch-1 time), the largest "
                 "of any op type.")
    return lines


def report(results: list[ModelResult], runs: int, warmup: int, seconds: float) -> str:
    stats = op_stats(results)
    lines = ["## The interpreter against LiteRT on the mediapipe models (`bench/bench_interpreter.py`)", "",
             "Written by `python bench/bench_interpreter.py` (do not edit by hand). "
             f"Median of {runs} invokes after {warmup} warmup, per runtime, model and batch; "
             f"batch {BIG_BATCH} times are per image (batch time / {BIG_BATCH}). Times in ms. "
             f"This run took {seconds:.0f} s.", "",
             "### Machine", "", *machine_info(), "",
             "### Anchors", "", *anchors(), "",
             "### Latency on the mediapipe 0.10.14 models", "",
             "LiteRT XNNPACK = default resolver, 1 thread; REF = `OpResolverType.BUILTIN_REF`, 1 "
             "thread. Targets: edgeport faster than REF (ratio < 1 ✓), and within "
             f"{TARGET_VS_XNNPACK:.0f}× of XNNPACK per image at batch {BIG_BATCH}.", "",
             *latency_table(results), "",
             "### edgeport without numba", "",
             "The same edgeport with `EDGEPORT_NUMBA=0`: every op in NumPy, as after a plain "
             "`pip install edgeport` (ratio > 1: the compiled loops help).", "",
             *variant_table(results, "ours_numpy_only", "compiled", "NumPy alone",
                            "(not measured: the compiled loops are off, so the main table is "
                            "NumPy alone)", against_target=True), "",
             "### edgeport with BLAS on every core", "",
             "The same edgeport runs with NumPy's OpenBLAS on all cores instead of one "
             "(ratio < 1: threads help). On a busy machine threads that spin-wait hurt.", "",
             *variant_table(results, "ours_all_threads", "1 thread", f"{os.cpu_count()} threads",
                            "(not measured: NumPy's BLAS thread count could not be set)"), "",
             "### edgeport time by op type (all models, 1 BLAS thread)", "",
             "Per-step medians of the timed invokes (`GraphExecutor.invoke(profile=True)`). "
             f"'per-call' is a step's kernel on its own inputs cut to at most {TINY}×{TINY} "
             "pixels: the cost of calling the op with next to no arithmetic (Python, NumPy "
             "dispatch, allocation, per-call weight work), an upper bound on its overhead; not "
             "measurable where constants pin the shapes (RESHAPE, fixed-size resizes).",
             "", *op_table(stats), "",
             "### Python overhead", "",
             "'dispatch loop' is `invoke()` with every kernel replaced by one returning its "
             "recorded outputs: the executor's own cost per step. 'overhead share' is (dispatch "
             "loop + per-call costs) / batch-1 time.", "",
             *overhead_table(results), "",
             "### Where the time goes / next speed-up", "", *findings(results, stats), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated model names (default: all runnable)")
    parser.add_argument("--runs", type=int, default=5, help="timed invokes per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="untimed invokes first")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"), help="report path")
    args = parser.parse_args(argv)

    corpus = mediapipe_models()
    runnable = [n for n in corpus if CUSTOM_OP_MODELS.get(n, set()) <= set(MEDIAPIPE_CUSTOM_OPS)]
    names = args.models.split(",") if args.models else runnable
    unknown = [n for n in names if n not in runnable]
    if unknown:
        parser.error(f"unknown or unrunnable model(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(runnable)}")
    for op, fn in MEDIAPIPE_CUSTOM_OPS.items():
        register_custom_op(op, fn)

    start = time.perf_counter()
    results = []
    for name in names:
        t0 = time.perf_counter()
        results.append(bench_model(name, corpus[name], args.runs, args.warmup))
        r = results[-1]
        print(f"{name:34} xnnpack {ms(r.xnnpack.b1):>8} ref {ms(r.ref.b1):>8} "
              f"edgeport {ms(r.ours.b1):>8} ms at b1  ({time.perf_counter() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    text = report(results, args.runs, args.warmup, time.perf_counter() - start)
    update_section(args.out, "bench_interpreter", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
