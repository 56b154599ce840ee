"""``edgeport bench MODEL``: latency percentiles and, with --profile, time per op.

Time repeated invocations on random inputs and print latency percentiles; --profile adds time
per op and per op type.
"""

from __future__ import annotations

import time

from .common import (CommandError, add_backend_arguments, add_model_argument, make_console,
                     non_negative_int, open_interpreter, placement_summary, positive_int,
                     shape_text, subcommand)
from .run import random_inputs


def add_parser(commands, common) -> None:
    """The ``bench`` subcommand, for edgeport.cli.build_parser."""
    bench = subcommand(commands, common, "bench", bench_command, __doc__,
                       help="measure a model's latency on random inputs")
    add_model_argument(bench, ".tflite file")
    bench.add_argument("--batch", type=positive_int, metavar="N",
                       help="resize the first dimension of every input to N")
    bench.add_argument("--runs", type=positive_int, default=50, metavar="N",
                       help="timed runs (default 50)")
    bench.add_argument("--warmup", type=non_negative_int, default=5, metavar="N",
                       help="untimed runs first (default 5)")
    bench.add_argument("--profile", action="store_true", help="time every op")
    bench.add_argument("--top", type=non_negative_int, default=25, metavar="N",
                       help="with --profile: show the N slowest ops (default 25, 0 = all)")
    add_backend_arguments(bench)


def bench_command(args) -> int:
    import numpy as np
    from rich.table import Table

    from ..progress import progress
    from ..lite.interpreter import feed_inputs
    from ..ops.compiled import compiled_kernels_status

    if args.profile and args.backend == "jax":
        raise CommandError("--profile times the NumPy interpreter's ops one by one; the jax "
                           "backend runs them as compiled segments")
    interpreter = open_interpreter(args)
    arrays = random_inputs(interpreter, 0, args.batch)
    feed_inputs(interpreter, arrays)
    executor = interpreter.executor(0)
    batch = arrays[0].shape[0] if arrays and arrays[0].ndim else 1

    times = []
    op_times = np.zeros(len(executor.steps))
    with progress(total=args.warmup + args.runs, desc="warmup" if args.warmup else "bench",
                  unit="run") as bar:
        for i in range(args.warmup + args.runs):
            if i == args.warmup:
                bar.set_description("bench")
            start = time.perf_counter()
            executor.invoke(profile=args.profile)
            elapsed = time.perf_counter() - start
            if i >= args.warmup:
                times.append(elapsed)
                if args.profile:
                    op_times += executor.op_times
            bar.update()

    ms = np.array(times) * 1e3
    console = make_console()
    inputs = ", ".join(f"{d['name']} {shape_text(d['shape'])} {np.dtype(d['dtype'])}"
                       for d in interpreter.get_input_details())
    folded = len(executor.graph.ops) - len(executor.steps)
    console.print(f"{args.model}: {len(executor.steps)} ops per run"
                  + (f" ({folded} more folded into constants at load)" if folded else "")
                  + f"; inputs {inputs}")
    console.print(f"{args.runs} runs after {args.warmup} warmup"
                  + (", profiling every op" if args.profile else "")
                  + (f"; numba's compiled loops {compiled_kernels_status()}"
                     if args.backend == "numpy" else ""))
    if args.backend == "jax":
        compiled_in = "the first warmup run" if args.warmup else "the first timed run (slow)"
        console.print(f"{placement_summary(interpreter)}; {compiled_in} compiled it")
    latency = Table(title="latency (ms)", title_justify="left")
    for column in ("p50", "p90", "p99", "mean", "min", "max", f"per image (batch {batch})"):
        latency.add_column(column, justify="right")
    latency.add_row(*(f"{v:.4g}" for v in (*np.percentile(ms, [50, 90, 99]), ms.mean(),
                                           ms.min(), ms.max(), ms.mean() / batch)))
    console.print(latency)
    if args.profile:
        op_ms = op_times * 1e3 / args.runs
        console.print(_profile_table(executor, op_ms, args.runs, args.top))
        console.print(_profile_by_type(executor, op_ms, args.runs))
        console.print(f"ops: {op_ms.sum():.4g} ms of {ms.mean():.4g} ms per run; the rest is "
                      "the interpreter's own work")
    return 0


def _profile_table(executor, op_ms, runs: int, top: int):
    """The slowest ops, by time per run, each named by its index in the model and output."""
    from rich.table import Table

    total = op_ms.sum() or 1.0
    index_of = {id(op): i for i, op in enumerate(executor.graph.ops)}
    order = sorted(range(len(op_ms)), key=lambda k: -op_ms[k])
    shown = order[:top] if top else order
    title = "time per op" + (f" (slowest {len(shown)} of {len(order)})"
                             if len(shown) < len(order) else "")
    table = Table(title=title, title_justify="left")
    for column in ("#", "op", "output", "total ms", "ms/run", "%"):
        table.add_column(column, justify="left" if column in ("op", "output") else "right")
    for k in shown:
        op = executor.steps[k].op
        table.add_row(str(index_of[id(op)]), op.type, op.outputs[0] if op.outputs else "-",
                      f"{op_ms[k] * runs:.4g}", f"{op_ms[k]:.4g}",
                      f"{100 * op_ms[k] / total:.1f}")
    return table


def _profile_by_type(executor, op_ms, runs: int):
    from rich.table import Table

    total = op_ms.sum() or 1.0
    groups: dict[str, list] = {}
    for step, t in zip(executor.steps, op_ms):
        group = groups.setdefault(step.op.type, [0, 0.0])
        group[0] += 1
        group[1] += t
    table = Table(title="time per op type", title_justify="left")
    table.add_column("op type")
    for column in ("count", "total ms", "ms/run", "%"):
        table.add_column(column, justify="right")
    for op_type, (count, t) in sorted(groups.items(), key=lambda item: -item[1][1]):
        table.add_row(op_type, str(count), f"{t * runs:.4g}", f"{t:.4g}",
                      f"{100 * t / total:.1f}")
    return table
