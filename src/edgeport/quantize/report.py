"""The quantization report: where a quantized model departs from its float original, and what
each variant costs and gives.

    report = compare("model.tflite", "model_int8.tflite", x)       # x: inputs, batch first
    report.rows[0]          # the worst layer: lowest SQNR
    console.print(report.to_table(top=10))
    report.plot("sqnr.png")  # needs matplotlib

Both models run on the same data in edgeport's interpreter, every intermediate kept. A tensor
of the quantized model is matched to the float tensor of the same name; an int8/uint8/int16
tensor is dequantized with its QuantParams first, and the integer tensors on the QUANTIZE /
DEQUANTIZE boundary stand for the float tensor they were made from or turn into (so an int8
input or output is compared with the float one, its quantization error included). When names
do not match at all (another converter, renamed tensors), ops are paired in order if both graphs
have the same sequence of op types. Per matched tensor: SQNR, 10·log10(Σ float² / Σ (quant −
float)²), in dB (higher is better; each bit of precision is ~6 dB, so int8 gives at most ~48),
and the max absolute error, accumulated over the batches. Rows are named by the original layer
(``Op.origin``: the Keras layer name, when the graph still knows it), else by tensor name.

`variants` measures size, accuracy (when labels are given) and latency of several .tflite
variants of one model (float, weights-only, float16, int8) on the same data.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..graph import Graph
from ..io import atomic_write
from ..ops.affine import QUANTIZED_TYPES
from .runner import ModelRunner


@dataclass
class LayerRow:
    """One compared tensor: the layer that produced it and how far the quantized run is."""

    layer: str
    tensor: str
    op: str
    dtype: str               # the quantized model's dtype for this tensor
    sqnr_db: float           # inf where the runs agree exactly
    max_abs_error: float
    scale: float | None      # the quantization step, for integer tensors


@dataclass
class Report:
    """Per-layer differences between a float model and its quantized version, worst first."""

    float_model: str
    quant_model: str
    samples: int
    rows: list[LayerRow]
    outputs: list[LayerRow] = field(default_factory=list)
    top1_agreement: float | None = None  # share of samples whose argmax output agrees

    def to_table(self, top: int | None = None):
        """A rich Table of the ``top`` worst layers (all when None)."""
        from rich.table import Table

        shown = self.rows if not top else self.rows[:top]
        table = Table(title=f"per-layer error of {self.quant_model} vs {self.float_model} "
                            f"({self.samples} samples, worst first)")
        for name in ("layer", "op", "dtype", "SQNR dB", "max |error|", "error / scale"):
            table.add_column(name, justify="left" if name in ("layer", "op", "dtype")
                             else "right")
        for row in shown:
            steps = (f"{row.max_abs_error / row.scale:.1f}" if row.scale else "-")
            table.add_row(row.layer, row.op, row.dtype, _db(row.sqnr_db),
                          f"{row.max_abs_error:.4g}", steps)
        if len(shown) < len(self.rows):
            table.caption = f"{len(self.rows) - len(shown)} more layers not shown"
        return table

    def plot(self, path: str | os.PathLike) -> str:
        """SQNR per layer in graph order as a PNG at ``path``; needs matplotlib."""
        try:
            import matplotlib
        except ImportError:
            raise ImportError("plotting the quantization report needs matplotlib: "
                              "pip install matplotlib") from None
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = sorted(self.rows, key=lambda r: self._order.get(r.tensor, 0))
        finite = [min(r.sqnr_db, 100.0) for r in rows]
        fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(rows)), 4.5))
        ax.bar(range(len(rows)), finite, color=["#c0392b" if v < 20 else "#2e86c1"
                                                for v in finite])
        ax.set_xticks(range(len(rows)), [_short(r.layer) for r in rows], rotation=75,
                      fontsize=7, ha="right")
        ax.set_ylabel("SQNR (dB, higher is better)")
        ax.set_title(f"{os.path.basename(self.quant_model)} vs "
                     f"{os.path.basename(self.float_model)}")
        fig.tight_layout()
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=120)
        plt.close(fig)
        atomic_write(path, png.getvalue())
        return os.fspath(path)

    _order: dict = field(default_factory=dict, repr=False)


def compare(float_model, quant_model, data, batch_size: int = 64) -> Report:
    """Run both models (.tflite paths or bytes) on ``data`` (one array per model input, batch
    first; a single array for a one-input model) and compare every matched tensor."""
    inputs = _as_inputs(data)
    float_run, quant_run = ModelRunner(float_model, True), ModelRunner(quant_model, True)
    pairs = match_tensors(float_run.graph, quant_run.graph)
    if not pairs:
        raise ValueError(f"{quant_run.source}: no tensor matches one of {float_run.source} "
                         "(neither by name nor by op order); are these two versions of one "
                         "model?")
    sums = {name: np.zeros(3) for name in pairs}  # Σ ref², Σ err², max |err|
    agree = total = 0
    for start in range(0, len(inputs[0]), batch_size):
        batch = [x[start:start + batch_size] for x in inputs]
        ref, got = float_run.run(batch), quant_run.run(batch)
        for name, quant_name in pairs.items():
            want = float_run.value(name)
            err = quant_run.value(quant_name) - want
            s = sums[name]
            s += (float(np.sum(np.square(want, dtype=np.float64))),
                  float(np.sum(np.square(err, dtype=np.float64))), 0.0)
            s[2] = max(s[2], float(np.max(np.abs(err), initial=0.0)))
        if ref[0].ndim == 2 and ref[0].shape[-1] > 1:
            agree += int(np.sum(ref[0].argmax(-1) == got[0].argmax(-1)))
            total += len(ref[0])
    rows = [_row(float_run.graph, quant_run.graph, name, pairs[name], sums[name])
            for name in pairs]
    rows.sort(key=lambda r: (r.sqnr_db, -r.max_abs_error))
    outputs = [r for r in rows if r.tensor in float_run.graph.outputs]
    order = {name: i for i, name in enumerate(pairs)}
    return Report(float_run.source, quant_run.source, len(inputs[0]), rows, outputs,
                  agree / total if total else None, order)


def match_tensors(float_graph: Graph, quant_graph: Graph) -> dict[str, str]:
    """``{float tensor: quantized-model tensor}`` for the float model's activations (inputs
    and op outputs) in graph order; see the module doc for the rules."""
    wanted = [n for n in _activations(float_graph)
              if float_graph.tensors[n].dtype.kind == "f"]
    float_types = {name: _producer_type(float_graph, name) for name in wanted}
    candidates: dict[str, list[str]] = {}
    for name in _activations(quant_graph):
        origin = _float_name(quant_graph, name, float_types)
        if origin is not None:
            candidates.setdefault(origin, []).append(name)
    fallback: dict[str, list[str]] = {}
    for f_name, q_name in _by_op_order(float_graph, quant_graph):
        fallback.setdefault(f_name, []).append(q_name)
    for f_name, q_names in fallback.items():
        candidates.setdefault(f_name, q_names)
    # Prefer the integer form of a tensor (the quantized input, the int8 output before its
    # DEQUANTIZE): its error is what quantization did.
    return {name: max(candidates[name], key=lambda q: _is_integer(quant_graph, q))
            for name in wanted if name in candidates}


def _float_name(graph: Graph, name: str, float_types: dict[str, str],
                depth: int = 0) -> str | None:
    """The float tensor ``name`` stands for: the same name made by the same kind of op (the
    reader renames clashing names, so a name alone can point at a weight's DEQUANTIZE), or,
    across a QUANTIZE/DEQUANTIZE, the float tensor on the other side."""
    if float_types.get(name) == _producer_type(graph, name):
        return name
    if depth > 4:
        return None
    for op in graph.ops:
        if op.type == "QUANTIZE" and op.outputs[0] == name:
            return _float_name(graph, op.inputs[0], float_types, depth + 1)
        if op.type == "DEQUANTIZE" and op.inputs[0] == name:
            found = _float_name(graph, op.outputs[0], float_types, depth + 1)
            if found is not None:
                return found
    return None


def _by_op_order(float_graph: Graph, quant_graph: Graph):
    """Pairs of outputs of the ops both graphs compute, when their op types line up, and of
    the inputs by position (with the QUANTIZE output of a quantized model's float input)."""
    def compute_ops(graph):
        return [op for op in graph.ops if op.type not in ("QUANTIZE", "DEQUANTIZE")]

    ours, theirs = compute_ops(float_graph), compute_ops(quant_graph)
    if [op.type for op in ours] != [op.type for op in theirs]:
        return []
    pairs = [(f, q) for a, b in zip(ours, theirs) for f, q in zip(a.outputs, b.outputs)]
    for f, q in zip(float_graph.inputs, quant_graph.inputs):
        pairs.append((f, q))
        pairs += [(f, op.outputs[0]) for op in quant_graph.ops
                  if op.type == "QUANTIZE" and op.inputs[0] == q]
    return pairs


def _activations(graph: Graph) -> list[str]:
    """Inputs and op outputs that are not weights (constants, or the DEQUANTIZE of one)."""
    constant = {n for n, t in graph.tensors.items() if t.data is not None}
    names = list(graph.inputs)
    for op in graph.ops:
        if op.type == "DEQUANTIZE" and op.inputs[0] in constant:
            constant.update(op.outputs)
        names += op.outputs
    return [n for n in dict.fromkeys(names) if n not in constant]


def _producer_type(graph: Graph, name: str) -> str | None:
    op = _producer(graph, name)
    return op.type if op is not None else ("input" if name in graph.inputs else None)


def _is_integer(graph: Graph, name: str) -> bool:
    return graph.tensors[name].dtype in QUANTIZED_TYPES


def _row(float_graph: Graph, quant_graph: Graph, name: str, quant_name: str, sums) -> LayerRow:
    signal, noise, max_err = sums
    sqnr = (np.inf if noise == 0 else -np.inf if signal == 0
            else 10.0 * np.log10(signal / noise))
    producer = _producer(float_graph, name)
    q_producer = _producer(quant_graph, quant_name)
    origin = (producer and producer.origin) or (q_producer and q_producer.origin)
    # Without origins (a .tflite from elsewhere), the tensor name; the official converter
    # joins the names of the ops it fused with ";", the first is the layer's own.
    layer = origin or (name.split(";")[0] if producer else f"input {name}")
    tensor = quant_graph.tensors[quant_name]
    scale = (float(tensor.quant.scale[0]) if tensor.quant is not None
             and tensor.dtype in QUANTIZED_TYPES and tensor.quant.scale.size == 1 else None)
    return LayerRow(layer, name, producer.type if producer else "input", tensor.dtype.name,
                    float(sqnr), max_err, scale)


def _producer(graph: Graph, name: str):
    return next((op for op in graph.ops if name in op.outputs), None)


def _short(text: str, width: int = 32) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _db(value: float) -> str:
    return "exact" if value == np.inf else f"{value:.1f}"


def _as_inputs(data) -> list[np.ndarray]:
    arrays = [np.asarray(data)] if isinstance(data, np.ndarray) else [np.asarray(x) for x in data]
    if not arrays or any(a.ndim == 0 or len(a) == 0 for a in arrays):
        raise ValueError("data must hold at least one sample per model input, batch first")
    if len({len(a) for a in arrays}) != 1:
        raise ValueError(f"the inputs hold different numbers of samples: "
                         f"{[len(a) for a in arrays]}")
    return arrays


@dataclass
class VariantRow:
    """One model variant: its size, its accuracy on labelled data, its latency."""

    name: str
    bytes: int
    accuracy: float | None
    latency_ms: dict[str, float]    # runtime -> median ms per sample (batch 1)


def variants(models: Mapping[str, object], data, labels=None,
             runtimes: Sequence[str] = ("edgeport",), batch_size: int = 64,
             runs: int = 50) -> list[VariantRow]:
    """Size, accuracy (argmax of the first output against ``labels``) and latency of each
    ``{name: .tflite path or bytes}`` on ``data``."""
    inputs = _as_inputs(data)
    rows = []
    for name, model in models.items():
        runner = ModelRunner(model)
        accuracy = None
        if labels is not None:
            predictions = np.concatenate([
                runner.run([x[i:i + batch_size] for x in inputs])[0].argmax(-1)
                for i in range(0, len(inputs[0]), batch_size)])
            accuracy = float(np.mean(predictions == np.asarray(labels).reshape(-1)))
        latency = {runtime: (runner if runtime == "edgeport" else
                             ModelRunner(model, runtime=runtime)).latency_ms(inputs, runs)
                   for runtime in runtimes}
        rows.append(VariantRow(name, runner.nbytes, accuracy, latency))
    return rows


# What each latency column measured: edgeport's own interpreter (NumPy kernels, the compiled
# loops when numba is installed), or Google's LiteRT (its optimized kernels).
RUNTIME_NAMES = {"edgeport": "edgeport interpreter (NumPy)", "litert": "LiteRT"}


def variants_table(rows: Sequence[VariantRow], title: str = "model variants"):
    """A rich Table of `variants` rows; size and latency relative to the first row."""
    from rich.table import Table

    table = Table(title=title)
    base = rows[0]
    with_accuracy = any(r.accuracy is not None for r in rows)
    table.add_column("variant", no_wrap=True)
    table.add_column(f"size (÷ {base.name})", justify="right", no_wrap=True)
    if with_accuracy:
        table.add_column("accuracy", justify="right")
    for runtime in base.latency_ms:
        table.add_column(f"{RUNTIME_NAMES.get(runtime, runtime)} ms (speed-up)",
                         justify="right", no_wrap=True)
    for row in rows:
        cells = [row.name, f"{row.bytes / 1024:.1f} KiB ({base.bytes / row.bytes:.2f}x)"]
        if with_accuracy:
            cells.append("-" if row.accuracy is None else f"{100 * row.accuracy:.2f}%")
        for runtime, ms in row.latency_ms.items():
            cells.append(f"{ms:.3f} ({base.latency_ms[runtime] / ms:.2f}x)")
        table.add_row(*cells)
    return table
