"""Execution backends: "numpy" (the reference, always available) and "jax" (optional extra:
jit-compiled, on CPU and GPUs, one model across several devices).

`make_executor` is what the Interpreter calls to get the executor of a (sub)graph.
"""

from __future__ import annotations

from ..executor import GraphExecutor

BACKENDS = ("numpy", "jax")
STRATEGIES = ("pipeline", "data_parallel")


def make_executor(graph, kernels, source: str = "model", preserve_all_tensors: bool = False,
                  num_threads: int | None = None, backend: str = "numpy", devices=None,
                  strategy: str | None = None, placement=None, strict: bool | None = None,
                  **strategy_options) -> GraphExecutor:
    """The executor for ``backend``; with ``strategy`` one that splits the batch over
    ``devices``. The NumPy backend runs on /device:CPU:0 only and takes no device options."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES} or None, not {strategy!r}")
    if backend == "numpy":
        if devices or strategy or placement:
            raise ValueError("devices=, strategy= and placement= need backend='jax'")
        return GraphExecutor(graph, kernels, source, preserve_all_tensors, num_threads)
    from .jax import JaxExecutor
    from .parallel import DataParallelExecutor, PipelineExecutor

    if strategy is None:
        return JaxExecutor(graph, kernels, source, preserve_all_tensors, num_threads,
                           devices=devices, placement=placement, strict=strict)
    cls = PipelineExecutor if strategy == "pipeline" else DataParallelExecutor
    return cls(graph, kernels, source, preserve_all_tensors, num_threads, devices=devices,
               placement=placement, strict=strict, **strategy_options)
