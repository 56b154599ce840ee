"""Post-training quantization to full integer, and the float graph every rewrite starts from.

- `prepare_float`: compressed constants expanded, a model that is already quantized refused.
- `quantize_int8` (full integer): materializes the quantization plan (plan.py) with
  calibrated ranges: every op the plan puts on int8 computes on int8, on the grids the plan
  names; the others stay float between DEQUANTIZE and QUANTIZE, or, with ``integer_only``,
  QuantizationError lists them all. Model inputs and outputs are float32
  (QUANTIZE/DEQUANTIZE at the boundary), int8 or uint8. An op whose kernel needs a coarser
  input grid than calibration gave reads a requantized copy (a near-constant SOFTMAX input).
Each rewrite (these, and weights_only.py's) works in place on a graph from `prepare_float` and
returns it.
"""

from __future__ import annotations

import numpy as np

from ..errors import QuantizationError
from ..graph import Graph, Op, QuantParams, Tensor
from ..ops.affine import QUANTIZED_TYPES
from ..ops.registry import get_op
from .plan import BiasGrid, Int8Options, OpPlan, QuantPlan, RangeGrid, WeightGrid, grid_params, plan
from . import recurrent
from .rules import as_uint8, bias_int32, quantize_constant, same_params, symmetric_weights

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


def quantize_int8(graph: Graph, ranges: dict[str, tuple[float, float]],
                  options: Int8Options | None = None) -> Graph:
    """Full-integer int8 from calibrated ``ranges``; see the module doc."""
    from ..passes import remove_dead_code

    options = options or Int8Options()
    quant_plan = plan(graph, ranges, options)
    if options.integer_only:
        stuck = [step for step in quant_plan.ops
                 if step.reason not in (None, "", "denylisted", recurrent.REPLACED)]
        if stuck:
            listed = "; ".join(f"{step.op.type} (layer {step.op.origin or step.op.outputs[0]!r}"
                               f"): {step.reason}" for step in stuck)
            raise QuantizationError(
                f"cannot make the model integer-only (target_spec.supported_ops="
                f"[TFLITE_BUILTINS_INT8]): {len(stuck)} op(s) cannot be quantized: {listed}. "
                "Allow float ops (TFLITE_BUILTINS) to keep them float, or denylist them")
    rewriter = _Int8Rewriter(graph, ranges, options, quant_plan)
    for step in quant_plan.ops:
        if step.reason == recurrent.REPLACED:
            continue
        if step.integer and step.op.type == "IF":
            recurrent.rewrite_call(rewriter, step, grid_params(step.outputs[0], ranges))
        elif step.integer:
            rewriter.integer_op(step)
        else:
            rewriter.float_op(step.op)
    graph.ops = rewriter.ops
    return remove_dead_code(graph)


class _Int8Rewriter:
    """Rebuilds the op list: each float tensor gets an int8 and/or a float version, created on
    demand with QUANTIZE / DEQUANTIZE where an int8 op meets a float one."""

    def __init__(self, graph: Graph, ranges, options: Int8Options, quant_plan: QuantPlan):
        self.g, self.ranges, self.opt, self.plan = graph, ranges, options, quant_plan
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
        return grid_params(RangeGrid(name), self.ranges)

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

    def integer_op(self, step: OpPlan) -> None:
        """Rewrite ``step.op`` to compute on int8, on the grids of its plan."""
        g, op = self.g, step.op
        inputs = list(op.inputs)
        for i, grid in step.inputs.items():
            name, tensor = op.inputs[i], g.tensors[op.inputs[i]]
            if isinstance(grid, BiasGrid):
                continue  # after the weights and data: needs their scales
            if isinstance(grid, WeightGrid):
                q, quant = symmetric_weights(tensor.data, grid.axis)
                inputs[i] = self._constant(name, q, quant)
            elif tensor.is_constant:
                quant = grid_params(grid, self.ranges)
                inputs[i] = self._constant(name, quantize_constant(tensor.data, quant), quant)
            elif grid == self.plan.grid[name]:
                inputs[i] = self.int8_of(name, origin=op.origin)
            else:
                inputs[i] = self.int8_of(name, grid_params(grid, self.ranges), op.origin)
        self._coarse_enough(op, inputs)
        inputs = self._bias(step, inputs)
        outputs, after = [], []
        for j, out in enumerate(op.outputs):
            grid = step.outputs.get(j)
            outputs.append(out if grid is None else
                           self._int8_output(out, grid_params(grid, self.ranges), after))
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

    def _bias(self, step: OpPlan, inputs: list) -> list:
        """The int32 bias at s_in * s_w, or a zero one where LiteRT's kernel needs one."""
        g, op = self.g, step.op
        found = [(i, grid) for i, grid in step.inputs.items() if isinstance(grid, BiasGrid)]
        if not found and not step.zero_bias:
            return inputs
        rule = get_op(op.type).quant
        index, grid = found[0] if found else (rule.bias, BiasGrid(rule.data, rule.weights))
        w_quant = g.tensors[inputs[grid.weights]].quant
        in_scale = g.tensors[inputs[grid.data]].quant.scale[0]
        name = op.inputs[index] if found else None
        channels = g.tensors[inputs[grid.weights]].shape[rule.axis]
        values = (g.tensors[name].data if name is not None
                  else np.zeros(channels, np.float32))
        q, quant = bias_int32(values, in_scale, w_quant.scale)
        base = name or f"{op.outputs[0]}_bias"
        inputs = inputs + [None] * (index + 1 - len(inputs))
        inputs[index] = self._constant(base, q, quant)
        return inputs
