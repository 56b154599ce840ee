"""The LiteRT oracle: run a .tflite model in Google's runtime, the judge of our output.

``reference=True`` uses the BUILTIN_REF resolver (TFLite's reference kernels, the ones integer
results must match bit for bit); ``reference=False`` the default optimized kernels (XNNPACK).
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType


def run_litert(model: bytes, inputs: list[np.ndarray], reference: bool = True,
               preserve_all_tensors: bool = False):
    """Outputs of ``model`` on ``inputs`` (resized to their shapes), in output order."""
    resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.BUILTIN
    interpreter = Interpreter(model_content=model, experimental_op_resolver_type=resolver,
                              num_threads=1,
                              experimental_preserve_all_tensors=preserve_all_tensors)
    return _run(interpreter, inputs)


def run_edgeport(model: bytes, inputs: list[np.ndarray]):
    """The same through edgeport.lite.Interpreter, for side-by-side comparisons."""
    from edgeport.lite import Interpreter as EdgeportInterpreter

    return _run(EdgeportInterpreter(model_content=model), inputs)


def run_edgeport_jax(model: bytes, inputs: list[np.ndarray]):
    """edgeport's jax backend on the CPU: (outputs, its placement report)."""
    from edgeport.lite import Interpreter as EdgeportInterpreter

    interpreter = EdgeportInterpreter(model_content=model, backend="jax")
    return _run(interpreter, inputs), interpreter.placement_report()


def _run(interpreter, inputs):
    from edgeport.lite.interpreter import feed_inputs

    n_inputs = len(interpreter.get_input_details())
    assert n_inputs == len(inputs), f"model takes {n_inputs} inputs, got {len(inputs)}"
    feed_inputs(interpreter, inputs)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
