"""Post-training quantization to full integer, and the float graph every rewrite starts from.

- `prepare_float`: compressed constants expanded, a model that is already quantized refused.
- `quantize_int8` (full integer): from calibrated ranges, every op edgeport has an integer
  kernel for computes on int8 (rules.py says how each tensor is quantized); the others stay
  float between DEQUANTIZE and QUANTIZE, or, with ``integer_only``, QuantizationError lists
  them all. Model inputs and outputs are float32 (QUANTIZE/DEQUANTIZE at the boundary), int8
  or uint8. Calibrated ranges are widened as TFLite's converter widens them
  (`observers.quantization_range`), and an op whose kernel needs a coarser input grid reads a
  requantized copy (a near-constant SOFTMAX input).
Each rewrite (these, and weights_only.py's) works in place on a graph from `prepare_float` and
returns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import QuantizationError
from ..graph import Graph, Op, QuantParams, Tensor
from ..ops.activations import INTEGER_ACTIVATIONS
from ..ops.quant_rules import Fixed, SameAsInput, Shared
from ..ops.affine import QUANTIZED_TYPES
from ..ops.registry import get_op
from . import rules
from .observers import quantization_range
from .weights_only import denied
from .rules import (activation_params, as_uint8, bias_int32, constant_params, quantize_constant,
                    same_params, symmetric_weights)

F32 = np.dtype(np.float32)


def prepare_float(graph: Graph) -> Graph:
    """Make ``graph`` ready to quantize: compressed constants (float16 or int8 behind
    DEQUANTIZE, sparse behind DENSIFY) are expanded to float32 constants. Raises
    QuantizationError for a model that is already quantized, or weights holding NaN/Inf."""
    from ..passes.constant_folding import fold_constants

    fold_constants(graph, decompress=True)
    users = {}
    for op in graph.ops:
        for name in op.inputs:
            if name is not None:
                users.setdefault(name, op)
    for name, tensor in graph.tensors.items():
        if name not in users:
            continue
        if tensor.quant is not None and tensor.dtype in QUANTIZED_TYPES:
            raise QuantizationError(f"tensor {name!r} of {users[name].label} is already "
                                    f"quantized ({tensor.dtype}); quantize the float model")
        if tensor.is_constant and tensor.dtype.kind == "f" and not np.isfinite(tensor.data).all():
            bad = "NaN" if np.isnan(tensor.data).any() else "Inf"
            raise QuantizationError(f"weights {name!r} of {users[name].label} hold {bad} "
                                    "values; fix the model before quantizing")
    return graph


@dataclass
class Int8Options:
    """What `quantize_int8` does beyond the spec's defaults."""

    per_channel: bool = True
    per_channel_dense: bool = True
    input_type: np.dtype = F32
    output_type: np.dtype = F32
    integer_only: bool = False
    denylisted_ops: frozenset = field(default_factory=frozenset)
    denylisted_nodes: frozenset = field(default_factory=frozenset)


def float_reason(op: Op, graph: Graph, ranges, options: Int8Options) -> str | None:
    """Why ``op`` must stay float, or None when it can compute on int8. ``""`` marks an op
    without float tensors, which quantization leaves alone."""
    floats_in = [n for n in op.inputs if n is not None and graph.tensors[n].dtype == F32]
    floats_out = [n for n in op.outputs if graph.tensors[n].dtype == F32]
    if not floats_in and not floats_out:
        return ""
    if denied(op, options.denylisted_ops, options.denylisted_nodes):
        return "denylisted"
    if op.is_custom or not rules.has_integer_kernel(op.type):
        return "edgeport has no int8 kernel for it"
    activation = op.attrs.get("fused_activation_function", "NONE")
    if activation not in INTEGER_ACTIVATIONS:
        return f"its fused activation {activation} has no integer form"
    if floats_out and not any(not graph.tensors[n].is_constant for n in floats_in):
        return "it makes float values from non-float inputs"
    weights, _, bias, _ = rules.weighted_inputs(op.type)
    if weights is not None:
        for index in (weights, bias):
            name = op.inputs[index] if index < len(op.inputs) else None
            if name is not None and not graph.tensors[name].is_constant:
                return "its weights are not constant"
    missing = [n for n in floats_in + floats_out
               if not graph.tensors[n].is_constant and n not in ranges]
    if missing:
        return f"tensor {missing[0]!r} has no calibrated range"
    return None


def quantize_int8(graph: Graph, ranges: dict[str, tuple[float, float]],
                  options: Int8Options | None = None) -> Graph:
    """Full-integer int8 from calibrated ``ranges``; see the module doc."""
    from ..passes import remove_dead_code

    options = options or Int8Options()
    order = graph.topological_order()
    reasons = {id(op): float_reason(op, graph, ranges, options) for op in order}
    if options.integer_only:
        stuck = [op for op in order if reasons[id(op)] not in (None, "", "denylisted")]
        if stuck:
            listed = "; ".join(f"{op.type} (layer {op.origin or op.outputs[0]!r}): "
                               f"{reasons[id(op)]}" for op in stuck)
            raise QuantizationError(
                f"cannot make the model integer-only (target_spec.supported_ops="
                f"[TFLITE_BUILTINS_INT8]): {len(stuck)} op(s) cannot be quantized: {listed}. "
                "Allow float ops (TFLITE_BUILTINS) to keep them float, or denylist them")
    rewriter = _Int8Rewriter(graph, ranges, options)
    for op in order:
        if reasons[id(op)] is None:
            rewriter.integer_op(op)
        else:
            rewriter.float_op(op)
    graph.ops = rewriter.ops
    return remove_dead_code(graph)


class _Int8Rewriter:
    """Rebuilds the op list: each float tensor gets an int8 and/or a float version, created on
    demand with QUANTIZE / DEQUANTIZE where an int8 op meets a float one."""

    def __init__(self, graph: Graph, ranges, options: Int8Options):
        self.g, self.ranges, self.opt = graph, ranges, options
        self.is_float = {n for n, t in graph.tensors.items() if t.dtype == F32}
        self.ops: list[Op] = []
        self.int8: dict[str, str] = {}
        self.float: dict[str, str] = {}
        self.requantized: dict[tuple, str] = {}
        for name in graph.inputs:
            if name in self.is_float:
                self._bind_input(name)

    # -- tensors --------------------------------------------------------------------------
    def _new(self, base: str, like: str, dtype, quant=None) -> str:
        name = self.g.unique_name(base)
        self.g.add_tensor(Tensor(name, self.g.tensors[like].shape, dtype, quant=quant))
        return name

    def _params(self, name: str) -> QuantParams:
        return activation_params(*quantization_range(*self.ranges[name]))

    def _emit(self, op_type: str, source: str, target: str, origin) -> None:
        self.ops.append(Op(op_type, [source], [target], {}, origin=origin))

    def _bind_input(self, name: str) -> None:
        kind = np.dtype(self.opt.input_type)
        tensor = self.g.tensors[name]
        if kind == F32:
            self.float[name] = name
            return
        params = self._params(name)
        tensor.dtype = kind
        tensor.quant = as_uint8(params) if kind == np.uint8 else params
        if kind == np.uint8:
            inner = self._new(f"{name}_int8", name, np.int8, params)
            self._emit("QUANTIZE", name, inner, None)
            self.int8[name] = inner
        else:
            self.int8[name] = name

    def int8_of(self, name: str, want: QuantParams | None = None, origin=None) -> str:
        """The int8 version of float tensor ``name`` (on the ``want`` grid, if given)."""
        have = self.int8.get(name)
        if have is not None and (want is None or same_params(self.g.tensors[have].quant, want)):
            return have
        key = (name, float(want.scale[0]), int(want.zero_point[0])) if want else (name,)
        if key in self.requantized:
            return self.requantized[key]
        params = want if want is not None else self._params(name)
        source = have if have is not None else self.float[name]
        made = self._new(f"{name}_int8" if have is None else f"{name}_requantized", name,
                         np.int8, params)
        self._emit("QUANTIZE", source, made, origin)
        if have is None and want is None:
            self.int8[name] = made
        else:
            self.requantized[key] = made
        return made

    def float_of(self, name: str, origin=None) -> str:
        """The float version of tensor ``name`` (a DEQUANTIZE of its int8 version if needed)."""
        if name not in self.float:
            source = self.int8[name]
            if self.g.tensors[name].dtype == np.uint8:  # a uint8 model input
                source = name
            made = self._new(f"{name}_dequantized", name, F32)
            self._emit("DEQUANTIZE", source, made, origin)
            self.float[name] = made
        return self.float[name]

    def _constant(self, name: str, q: np.ndarray, quant: QuantParams) -> str:
        made = self.g.unique_name(f"{name}_quantized")
        self.g.add_tensor(Tensor(made, q.shape, q.dtype, q, quant=quant))
        return made

    # -- ops ------------------------------------------------------------------------------
    def float_op(self, op: Op) -> None:
        """Keep ``op`` float: it reads float versions of its inputs."""
        inputs = [n if n is None or n not in self.is_float or self.g.tensors[n].is_constant
                  else (self._any_version(n) if op.type == "SHAPE" else self.float_of(n, op.origin))
                  for n in op.inputs]
        outputs, after = [], []
        kind = np.dtype(self.opt.output_type)
        for out in op.outputs:
            if out in self.is_float and out in self.g.outputs and kind != F32:
                inner = self._new(f"{out}_float", out, F32)
                params = self._params(out)
                tensor = self.g.tensors[out]
                tensor.dtype, tensor.quant = kind, (as_uint8(params) if kind == np.uint8
                                                    else params)
                after.append(("QUANTIZE", inner, out))
                self.float[out] = inner
                if kind == np.int8:
                    self.int8[out] = out
                outputs.append(inner)
            else:
                if out in self.is_float:
                    self.float[out] = out
                outputs.append(out)
        self.ops.append(Op(op.type, inputs, outputs, dict(op.attrs), origin=op.origin))
        for op_type, source, target in after:
            self._emit(op_type, source, target, op.origin)

    def _any_version(self, name: str) -> str:
        return self.float.get(name) or self.int8[name]

    def integer_op(self, op: Op) -> None:
        """Rewrite ``op`` to compute on int8."""
        g = self.g
        inputs = list(op.inputs)
        rule = rules.quant_rule(op.type)
        weights, axis, bias, data = rules.weighted_inputs(op.type)
        shared = self._params(op.outputs[0]) if isinstance(rule, Shared) else None
        for i, name in enumerate(op.inputs):
            if name is None or name not in self.is_float or i == bias:
                continue
            tensor = g.tensors[name]
            if tensor.is_constant:
                if i == weights:
                    channel = self.opt.per_channel and (self.opt.per_channel_dense
                                                        or op.type != "FULLY_CONNECTED")
                    q, quant = symmetric_weights(tensor.data, axis if channel else None)
                else:
                    quant = shared or constant_params(tensor.data)
                    q = quantize_constant(tensor.data, quant)
                inputs[i] = self._constant(name, q, quant)
            else:
                inputs[i] = self.int8_of(name, shared, op.origin)
            if isinstance(rule, SameAsInput) and shared is None:
                shared = g.tensors[inputs[i]].quant
        self._coarse_enough(op, inputs)
        if weights is not None:
            inputs = self._bias(op, inputs, weights, bias, data)
        outputs, after = [], []
        for out in op.outputs:
            if out not in self.is_float:
                outputs.append(out)
                continue
            if isinstance(rule, Fixed):
                params = rule.params()
            else:
                params = shared if shared is not None else self._params(out)
            outputs.append(self._int8_output(out, params, after))
        self.ops.append(Op(op.type, inputs, outputs, dict(op.attrs), origin=op.origin))
        for op_type, source, target in after:
            self._emit(op_type, source, target, op.origin)

    def _coarse_enough(self, op: Op, inputs: list) -> None:
        """Requantize ``op``'s data input onto a coarser grid where its kernel needs a larger
        scale than the input has (`OpDef.min_input_scale`: SOFTMAX of near-constant logits,
        which LiteRT aborts on; TFLite's own converter writes such models)."""
        definition = get_op(op.type)
        floor, index = definition.min_input_scale(op), definition.data_input
        quant = self.g.tensors[inputs[index]].quant if floor else None
        if quant is not None and float(quant.scale[0]) < floor:
            want = QuantParams([floor], quant.zero_point)
            inputs[index] = self.int8_of(op.inputs[index], want, op.origin)

    def _int8_output(self, out: str, params: QuantParams, after: list) -> str:
        tensor = self.g.tensors[out]
        kind = np.dtype(self.opt.output_type)
        if out in self.g.outputs and kind != np.int8:
            inner = self._new(f"{out}_int8", out, np.int8, params)
            if kind == F32:
                after.append(("DEQUANTIZE", inner, out))
                self.float[out] = out
            else:
                tensor.dtype, tensor.quant = kind, as_uint8(params)
                after.append(("QUANTIZE", inner, out))
            self.int8[out] = inner
            return inner
        tensor.dtype, tensor.quant = np.dtype(np.int8), params
        self.int8[out] = out
        return out

    def _bias(self, op: Op, inputs: list, weights: int, bias: int, data: int) -> list:
        """The int32 bias at s_in * s_w, or a zero one where LiteRT's kernel needs one."""
        g = self.g
        w_quant = g.tensors[inputs[weights]].quant
        in_scale = g.tensors[inputs[data]].quant.scale[0]
        name = inputs[bias] if bias < len(inputs) else None
        rule = rules.quant_rule(op.type)
        if name is None and not rule.needs_bias:
            return inputs
        channels = g.tensors[inputs[weights]].shape[rule.axis]
        values = (g.tensors[name].data if name is not None
                  else np.zeros(channels, np.float32))
        q, quant = bias_int32(values, in_scale, w_quant.scale)
        base = name or f"{op.outputs[0]}_bias"
        inputs = inputs + [None] * (bias + 1 - len(inputs))
        inputs[bias] = self._constant(base, q, quant)
        return inputs
