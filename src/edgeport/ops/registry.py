"""The op registry: every builtin op is one `OpDef` subclass, registered by `register_op`.

An op definition holds everything about that op (DESIGN.md "One op, one place"):
- ``options``: its .tflite builtin options table and fields, which drive the generic reader
  and writer (`edgeport.ops.options`);
- ``shape``: the output shape rule (optional; without one, shapes come from running the kernel
  on placeholder inputs, which is exact and cheap for data-movement ops);
- ``run_float``: the reference kernel, written once for NumPy and jax arrays
  (`array_namespace`), which is what the jax backend traces (``run_jax``'s default);
- ``run_jax``: overridden only for a jax fast path (each says why), and ``traces = False``
  marks the ops whose float kernel cannot be traced;
- ``quant``: how the int8 quantizer treats its tensors (`edgeport.ops.quant_rules`), read by
  PTQ and QAT; it also says whether the float kernel runs on integers as is (``moves_data``);
- ``variable_inputs``: the inputs it updates in place (a recurrent op's state), and
  ``activates_output``: False where its fused activation is applied inside the kernel;
- ``hybrid_weights``: the weights its hybrid kernel reads as int8 (weights-only PTQ);
- ``subgraph_fields`` and ``prepare_call``: for an op that runs subgraphs (IF);
- ``fusable_activations``: the activation ops that fusion folds into it (passes.fusion);
- ``cost``: its estimated work, by which placement balances pipeline stages;
- ``version``: the minimal .tflite op version for the tensors in use
  (tensorflow/lite/tools/versioning/op_version.cc).
Fused activations are applied here, once, for every op whose options carry one
(`edgeport.ops.activations`).

An integer kernel whose arithmetic takes NumPy and jax arrays alike (`array_namespace`) is
marked `traceable`: the jax backend then traces the very kernel the NumPy interpreter runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..errors import UnsupportedOpError
from ..arrays import array_namespace
from ..graph import Graph, Op, QuantParams
from .activations import apply_activation
from .affine import QUANTIZED_TYPES, dequantize
from .options import Options
from .quant_rules import Calibrated, QuantRule

Kernel = Callable[[Sequence[np.ndarray]], list]


@dataclass
class TensorSpec:
    """What shape inference knows about a tensor: shape, dtype, and its value when constant."""

    shape: tuple[int, ...]
    dtype: np.dtype
    value: np.ndarray | None = None
    quant: QuantParams | None = None


class OpDef:
    """Base class of op definitions. Subclasses override what their op needs."""

    name: str = ""
    options: Options | None = None
    # The input whose dtype the outputs have, when a shape rule (not a kernel run) infers them;
    # quantized outputs keep their declared dtype.
    data_input: int = 0
    # The inputs (shapes, axes, paddings, sizes) that the jax kernel needs as constants, since
    # they decide the shapes it traces; with a runtime value there, the op runs on NumPy.
    static_inputs: tuple[int, ...] = ()
    # Whether the kernels sum integer inputs in int64 (MEAN): jax then needs its 64-bit types.
    int64_accumulator: bool = False
    # How the int8 quantizer treats its tensors (`quant_rules`; calibrated by default).
    quant: QuantRule = Calibrated()
    # The activation ops (`activations.FUSABLE`) that fusion may fold into this op's
    # fused_activation_function when they alone read its output.
    fusable_activations: frozenset[str] = frozenset()
    # Whether ``run_jax`` traces. False for the ops whose kernel `prepare` binds from their
    # tensors' metadata (QUANTIZE, DEQUANTIZE, DENSIFY): the jax backend runs that prepared
    # kernel where it is `traceable`, else the op runs on NumPy.
    traces: bool = True
    # The inputs the op updates in place (TFLite's variable tensors: a recurrent op's state).
    # Its kernel returns their new values after its outputs; the interpreter keeps them.
    variable_inputs: tuple[int, ...] = ()
    # Whether ``fused_activation_function`` applies to the output (False where it is an
    # activation inside the kernel: the recurrent ops' cell activation).
    activates_output: bool = True
    # The constant inputs that weights-only quantization stores as int8 for the op's hybrid
    # kernel to read as they are, per tensor (the recurrent ops' gate weights).
    hybrid_weights: tuple[int, ...] = ()
    # The options naming subgraphs the op runs (IF's branches): its kernel is
    # ``prepare_call(op, call)``, with ``call(index, inputs) -> outputs`` from the interpreter.
    subgraph_fields: tuple[str, ...] = ()

    def run_float(self, attrs: dict, *inputs: np.ndarray):
        """The reference kernel: returns one array, or a tuple for several outputs. Written
        for NumPy and jax arrays alike (`array_namespace`) unless ``run_jax`` says otherwise."""
        raise NotImplementedError(f"{self.name} has no NumPy kernel")

    def run_jax(self, attrs: dict, *inputs):
        """The kernel the jax backend traces: ``run_float`` itself. An override is a jax fast
        path (or a NumPy one that does not trace), and says so."""
        return self.run_float(attrs, *inputs)

    def shape(self, attrs: dict, *inputs: TensorSpec) -> list[tuple[int, ...]] | None:
        """Output shapes from input specs, or None to infer them by running the kernel."""
        return None

    def value(self, attrs: dict, *inputs: TensorSpec) -> list[np.ndarray] | None:
        """Output values known from the input specs alone (SHAPE: the input's shape), so that
        shape inference can fold them; None where the values depend on input data."""
        return None

    def version(self, op: Op, graph: Graph) -> int:
        """The minimal .tflite version of this op as used in ``graph``."""
        return 1

    def static_input_names(self, op: Op) -> list[str]:
        """The tensors at ``op``'s `static_inputs` that it has."""
        return [op.inputs[i] for i in self.static_inputs
                if i < len(op.inputs) and op.inputs[i] is not None]

    def kernel_for(self, *arrays):
        """``run_float`` for NumPy arrays, ``run_jax`` for jax ones: what an integer kernel
        built on the float kernel calls, in either backend (the two differ where an op has a
        fast path)."""
        return self.run_float if array_namespace(*arrays) is np else self.run_jax

    # -- used by the interpreter and shape inference -------------------------------------
    def run(self, attrs: dict, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run the float kernel and the fused activation; always returns a list."""
        result = self.run_float(attrs, *inputs)
        outputs = list(result) if isinstance(result, (tuple, list)) else [result]
        activation = attrs.get("fused_activation_function", "NONE")
        if activation != "NONE" and self.activates_output:
            out = outputs[0]
            # A result the kernel just allocated is overwritten in place (saving a pass over
            # memory); anything else (a view, a constant, an input) gets a new array.
            owned = out.flags.writeable and all(_memory_of(out) is not _memory_of(x)
                                                for x in inputs if x is not None)
            outputs[0] = apply_activation(out, activation, self.name, in_place=owned)
        return outputs

    @property
    def moves_data(self) -> bool:
        """Whether the float kernel only moves, copies or selects elements, so that it runs as
        it is on quantized integers (its rule puts input and output on one grid)."""
        return self.quant.moves_data

    def cost(self, op: Op, shapes: dict) -> float:
        """Estimated work of ``op`` from its tensors' ``shapes``: its output elements times
        `macs_per_output` (good enough to balance pipeline stages)."""
        out = float(np.prod(shapes.get(op.outputs[0], ()), dtype=np.float64)) if op.outputs \
            else 0.0
        return out * self.macs_per_output(op, shapes)

    def macs_per_output(self, op: Op, shapes: dict) -> int:
        """Multiply-adds per output element (1: elementwise and data-movement ops)."""
        return 1

    def prepare(self, op: Op, graph: Graph) -> Kernel:
        """A callable running this op on its input arrays, bound to the op's attributes.

        Quantized ops (integer tensors with QuantParams) get `prepare_integer`'s kernel and
        hybrid ones (float activations, quantized constant weights) `prepare_hybrid`'s.
        Overrides may precompute from constant inputs (weight layouts, multipliers) here.
        """
        if is_integer_op(op, graph):
            return self.prepare_integer(op, graph)
        if is_hybrid_op(op, graph):
            return self.prepare_hybrid(op, graph)
        attrs = op.attrs
        return lambda inputs: self.run(attrs, inputs)

    def prepare_integer(self, op: Op, graph: Graph) -> Kernel:
        """The integer kernel of a quantized op, bit-exact with TFLite's reference kernel: it
        precomputes multipliers, shifts, offsets and clamp bounds from the tensors' QuantParams
        once, as TFLite's Prepare does. Data-movement ops run their kernel on the integers (no
        fused activation: a quantized op's activation is its clamp bounds)."""
        if self.moves_data:
            attrs = op.attrs

            def move(inputs):
                return _as_list(self.kernel_for(*inputs)(attrs, *inputs))

            return traceable(move)  # every data-movement op has a jax kernel
        dtype = graph.tensors[op.outputs[0]].dtype
        raise UnsupportedOpError(f"{op.label}: edgeport has no quantized {dtype} kernel for "
                                 f"{self.name}")

    def min_input_scale(self, op: Op) -> float:
        """The smallest scale of the data input that the integer kernel takes (0: any). The
        int8 quantizer requantizes an input on a finer grid onto this one: SOFTMAX's Prepare
        aborts LiteRT below 2**-26 / beta, a scale that a near-constant input (the logits of
        an untrained model) easily gets."""
        return 0.0

    def prepare_hybrid(self, op: Op, graph: Graph) -> Kernel:
        """A hybrid op (float activations, int8 weights): the weights are dequantized once,
        here, and the float kernel runs. TFLite's hybrid kernels instead quantize each input
        row on the fly and multiply in int8, so results differ from LiteRT's by that rounding
        (about 1e-2 relative); this path is the exact float value of the stored weights."""
        constants = {i: dequantize(graph.tensors[name].data, graph.tensors[name].quant)
                     for i, name in enumerate(op.inputs)
                     if name is not None and _is_quantized(graph, name)
                     and graph.tensors[name].data is not None}
        attrs = op.attrs
        return lambda inputs: self.run(attrs, [constants.get(i, x) for i, x in enumerate(inputs)])


def traceable(kernel: Kernel) -> Kernel:
    """Mark an integer kernel written for NumPy and jax arrays alike: the jax backend runs it
    inside its jit-compiled segments (64-bit integers on) instead of on the host."""
    kernel.traceable = True
    return kernel


def is_traceable(kernel: Kernel) -> bool:
    return getattr(kernel, "traceable", False)


def _is_quantized(graph: Graph, name: str | None) -> bool:
    tensor = None if name is None else graph.tensors[name]
    return tensor is not None and tensor.quant is not None and tensor.dtype in QUANTIZED_TYPES


def is_integer_op(op: Op, graph: Graph) -> bool:
    """Whether ``op`` computes on quantized integers: its data input or its first output is
    an int8/uint8/int16 tensor with quantization parameters."""
    data = OPS[op.type].data_input if op.type in OPS else 0
    return (len(op.inputs) > data and _is_quantized(graph, op.inputs[data])) or \
        (bool(op.outputs) and _is_quantized(graph, op.outputs[0]))


def is_hybrid_op(op: Op, graph: Graph) -> bool:
    """Whether ``op`` is hybrid: float activations with quantized constant weights."""
    return (bool(op.outputs) and graph.tensors[op.outputs[0]].dtype == np.float32
            and any(_is_quantized(graph, name) and graph.tensors[name].data is not None
                    for name in op.inputs))


def _as_list(result) -> list:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _memory_of(array: np.ndarray):
    """The array that owns the memory ``array`` views."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


OPS: dict[str, OpDef] = {}


def register_op(name: str):
    """Class decorator: register one instance of the OpDef subclass under a builtin name."""

    def decorate(cls):
        if name in OPS:
            raise RuntimeError(f"op {name} is defined twice: {type(OPS[name]).__name__} "
                               f"and {cls.__name__}")
        instance = cls()
        instance.name = name
        OPS[name] = instance
        return cls

    return decorate


def get_op(name: str) -> OpDef | None:
    """The definition of a builtin op, or None if edgeport has none."""
    return OPS.get(name)


def missing_ops(op_types, custom_ops=()) -> list[str]:
    """The op types among ``op_types`` that have neither a definition nor a custom kernel."""
    missing = []
    for op_type in op_types:
        if op_type.startswith("CUSTOM:"):
            if op_type[len("CUSTOM:"):] not in custom_ops:
                missing.append(op_type)
        elif op_type not in OPS:
            missing.append(op_type)
    return missing
