"""One model on several devices at once: the pipeline and data-parallel strategies.

Both split the batch (axis 0 of every input) and concatenate the outputs, so every graph input
and output must be batched on axis 0; results equal the single-device run.

- pipeline: the ops, in order, are cut into one stage per device, balanced by estimated cost
  (`placement.balanced_stages`); micro-batches stream through one worker thread per stage, so
  stage k works on micro-batch i while stage k+1 works on micro-batch i-1.
- data_parallel: every device runs the whole graph on its share of the batch, at the same
  time; weights are put on each device once.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...errors import GraphError, InterpreterStateError
from ..executor import GraphExecutor
from ..placement import PlacementReport, balanced_stages, canonical_device, op_cost
from .jax import JaxExecutor


class _BatchSplitExecutor(GraphExecutor):
    """What both strategies share: the full-batch plan (for shapes), batch splitting, and
    one inner JaxExecutor per split shape."""

    strategy = ""

    def __init__(self, graph, kernels, source="model", preserve_all_tensors=False,
                 num_threads=None, devices=None, placement=None, strict=None):
        super().__init__(graph, kernels, source, False, num_threads)
        if not devices:
            raise ValueError(f"strategy={self.strategy!r} needs devices=[...]")
        if self.state_names:
            raise GraphError(f"{source}: strategy={self.strategy!r} splits the batch, and "
                             f"the model keeps state across invokes in its variable tensors "
                             f"({', '.join(self.state_names)}); run it on one device")
        self.devices = [canonical_device(d) for d in devices]
        self.placement = placement
        self.strict = strict
        self._inner: dict[tuple, JaxExecutor] = {}
        self.report = PlacementReport(strategy=self.strategy)

    def resize_input(self, name, shape) -> None:
        super().resize_input(name, shape)
        self._inner.clear()

    def inner(self, feeds: dict, **options) -> JaxExecutor:
        key = (tuple(np.shape(feeds[n]) for n in self.graph.inputs),
               tuple(options.get("devices") or ()))
        if key not in self._inner:
            executor = JaxExecutor(self.graph, self.kernels, self.source, False,
                                   self.num_threads, strict=self.strict, **options)
            for name in self.graph.inputs:
                executor.resize_input(name, np.shape(feeds[name]))
            executor.allocate()
            self._inner[key] = executor
        return self._inner[key]

    def split(self, parts: int) -> list[dict]:
        batch = {np.shape(self.values[n])[0] for n in self.graph.inputs}
        if len(batch) != 1:
            raise GraphError(f"{self.source}: strategy {self.strategy!r} splits the batch, "
                             "but the inputs' first dimensions differ")
        count = min(parts, batch.pop())
        pieces = {n: np.array_split(self.values[n], count) for n in self.graph.inputs}
        return [{n: pieces[n][i] for n in self.graph.inputs}
                for i in range(len(next(iter(pieces.values()))))]

    def gather(self, results: list[dict], executor: JaxExecutor) -> None:
        """Concatenate the parts' outputs into self.values."""
        for name in self.graph.outputs:
            parts = [r[name] for r in results]
            rows = [np.shape(p)[0] if np.ndim(p) else None for p in parts]
            if None in rows or sum(rows) != self.shape_of(name)[0]:
                raise GraphError(f"{self.source}: output {name!r} is not batched on axis 0; "
                                 f"strategy {self.strategy!r} cannot split this model")
            self.values[name] = np.concatenate([np.asarray(p) for p in parts])

    def invoke(self, profile: bool = False) -> None:
        if not self.allocated:
            raise InterpreterStateError(f"{self.source}: call allocate_tensors() before invoke()")
        self.op_times = None
        self.run_parts()

    def placement_report(self) -> PlacementReport:
        return self.report


class PipelineExecutor(_BatchSplitExecutor):
    """``micro_batches``: how many pieces the batch is cut into (default 2 per device)."""

    strategy = "pipeline"

    def __init__(self, *args, micro_batches: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.micro_batches = micro_batches or 2 * len(self.devices)

    def stages(self, steps, specs) -> dict[int, str]:
        shapes = {n: s.shape for n, s in specs.items()}
        stage = balanced_stages([op_cost(s.op, shapes) for s in steps], len(self.devices))
        return {id(s.op): self.devices[k] for s, k in zip(steps, stage)}

    def run_parts(self) -> None:
        feeds = self.split(self.micro_batches)
        executors = [self.inner(f, placement=self.placement, assign=self.stages,
                                devices=self.devices) for f in feeds]
        n_stages = max(s.stage for s in executors[0].segments) + 1 if executors[0].segments \
            else 1
        channels = [queue.Queue() for _ in range(n_stages + 1)]
        errors: list[BaseException] = []

        def work(stage: int) -> None:
            while (item := channels[stage].get()) is not None:
                index, values = item
                if not errors:
                    try:
                        executor = executors[index]
                        executor.run_segments(values, [s for s in executor.segments
                                                       if s.stage == stage])
                    except BaseException as exc:  # handed to the caller below
                        errors.append(exc)
                channels[stage + 1].put((index, values))
            channels[stage + 1].put(None)

        workers = [threading.Thread(target=work, args=(k,), daemon=True)
                   for k in range(n_stages)]
        for worker in workers:
            worker.start()
        for index, feed in enumerate(feeds):
            channels[0].put((index, dict(feed)))
        channels[0].put(None)
        finished = {}
        while (item := channels[-1].get()) is not None:
            finished[item[0]] = item[1]
        for worker in workers:
            worker.join()
        if errors:
            raise errors[0]
        results = [executors[i].to_numpy(finished[i]) for i in range(len(feeds))]
        self.gather(results, executors[0])
        report = executors[0].report
        self.report = PlacementReport(report.ops, report.copies, self.strategy)


class DataParallelExecutor(_BatchSplitExecutor):
    strategy = "data_parallel"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.placement:
            raise ValueError("strategy='data_parallel' runs every op on every device; "
                             "it cannot take a placement map")
        self._pool = ThreadPoolExecutor(len(self.devices), thread_name_prefix="edgeport")

    def run_parts(self) -> None:
        feeds = self.split(len(self.devices))
        executors = [self.inner(f, devices=[d], assign=_everything_on(d))
                     for f, d in zip(feeds, self.devices)]

        def run(pair):
            executor, feed = pair
            values = dict(feed)
            executor.run_segments(values, executor.segments)
            return executor.to_numpy(values)

        results = list(self._pool.map(run, zip(executors, feeds)))
        self.gather(results, executors[0])
        report = executors[0].report
        # Where each replica ran: its device, or the host it fell back to.
        self.report = PlacementReport(report.ops, report.copies, self.strategy,
                                      [e.report.ops[0].device if e.report.ops else e.devices[0]
                                       for e in executors])


def _everything_on(device: str):
    return lambda steps, specs: {id(s.op): device for s in steps}
