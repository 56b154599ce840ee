"""UNIDIRECTIONAL_SEQUENCE_LSTM's integer kernel (8-bit weights and activations, 16-bit cell
state) bit-exact against LiteRT's reference kernels, on NumPy and jax, its state carried over
invokes from the zero point LiteRT resets an int8 state to."""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter as LiteRT, OpResolverType

from edgeport.errors import EdgeportError
from edgeport.export.tflite import write_tflite
from edgeport.graph import Graph, Op, QuantParams, Tensor
from edgeport.lite import Interpreter

F, U, T, BATCH = 3, 4, 6, 2


def int8_lstm_graph(seed=0, cifg=False, cell_exp=-11, cell_clip=0.0, time_major=False,
                    peephole=False, x_scale=0.02, out_scale=1 / 128) -> Graph:
    """One integer LSTM op over an int8 x, with random int8 weights and int32 biases, an int8
    output state on the output's grid and an int16 cell state at 2**cell_exp."""
    rng = np.random.default_rng(seed)
    g = Graph(name="main")
    x_params, out_params = QuantParams([x_scale], [3]), QuantParams([out_scale], [-2])
    g.add_tensor(Tensor("x", (T, BATCH, F) if time_major else (BATCH, T, F), np.int8,
                        quant=x_params))

    def weights(name, shape):
        scale = float(rng.uniform(0.002, 0.01))
        data = rng.integers(-127, 128, shape).astype(np.int8)
        g.add_tensor(Tensor(name, shape, np.int8, data, QuantParams([scale], [0])))
        return name

    def bias(k):
        scale = g.tensors[f"w{k}"].quant.scale[0] * np.float32(x_scale)
        data = rng.integers(-3000, 3000, U).astype(np.int32)
        g.add_tensor(Tensor(f"b{k}", (U,), np.int32, data, QuantParams([scale], [0])))
        return f"b{k}"

    skip = (0,) if cifg else ()
    inputs = ["x"] + [None if k in skip else weights(f"w{k}", (U, F)) for k in range(4)]
    inputs += [None if k in skip else weights(f"r{k}", (U, U)) for k in range(4)]
    inputs += [weights(f"p{k}", (U,)) if peephole and k else None for k in range(3)]
    inputs += [None if k in skip else bias(k) for k in range(4)] + [None, None]
    g.add_tensor(Tensor("h", (BATCH, U), np.int8, quant=out_params, is_variable=True))
    g.add_tensor(Tensor("c", (BATCH, U), np.int16, quant=QuantParams([2.0 ** cell_exp], [0]),
                        is_variable=True))
    inputs += ["h", "c"] + [None] * 4
    g.add_tensor(Tensor("y", (T, BATCH, U) if time_major else (BATCH, T, U), np.int8,
                        quant=out_params))
    intermediates = []
    for k in range(5):
        dtype, quant = (np.int8, out_params) if k == 4 else (np.int16, QuantParams([2 ** -12], [0]))
        intermediates.append(g.add_tensor(Tensor(f"intermediate_{k}", (), dtype,
                                                 quant=quant)).name)
    g.add_op(Op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, ["y"], {
        "fused_activation_function": "TANH", "cell_clip": cell_clip, "proj_clip": 0.0,
        "time_major": time_major, "asymmetric_quantize_inputs": False,
        "diagonal_recurrent_tensors": False}, intermediates=intermediates))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def invokes(interpreter, x):
    """The outputs of three invokes on ``x``: two in a row (the state carried over), then one
    after reset_all_variables."""
    interpreter.allocate_tensors()
    outputs = []
    for reset in (False, False, True):
        if reset:
            interpreter.reset_all_variables()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    return outputs


@pytest.mark.parametrize("options", [
    {}, {"seed": 1, "cell_exp": -9}, {"seed": 2, "cell_exp": -15}, {"cifg": True},
    {"cell_clip": 0.5, "seed": 3}, {"time_major": True, "seed": 4},
    # the edges of the scales (test_int8_prepare_edges.py's, for this op): tiny and huge
    {"x_scale": 1e-8, "out_scale": 1e-8}, {"x_scale": 1e4, "out_scale": 1e4, "seed": 5},
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "plain")
def test_the_integer_lstm_is_bit_exact_with_litert_on_numpy_and_jax(options):
    model = write_tflite(int8_lstm_graph(**options))
    shape = (T, BATCH, F) if options.get("time_major") else (BATCH, T, F)
    x = np.random.default_rng(7).integers(-128, 128, shape).astype(np.int8)
    want = invokes(LiteRT(model_content=model,
                          experimental_op_resolver_type=OpResolverType.BUILTIN_REF), x)
    if "out_scale" not in options:  # (at the edges every output saturates or is 0)
        assert np.abs(want[1].astype(int) - want[0]).max() > 0  # the state carried over
    for backend in ("numpy", "jax"):
        got = invokes(Interpreter(model_content=model, backend=backend), x)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
            assert g.dtype == np.int8


def test_an_int8_state_resets_to_its_zero_point_as_in_litert():
    model = write_tflite(int8_lstm_graph())
    for interpreter in (LiteRT(model_content=model), Interpreter(model_content=model)):
        interpreter.allocate_tensors()
        index = {d["name"]: d["index"] for d in interpreter.get_tensor_details()}
        assert (interpreter.get_tensor(index["h"]) == -2).all()
        assert (interpreter.get_tensor(index["c"]) == 0).all()


def test_what_the_integer_kernel_lacks_is_refused_by_name():
    with pytest.raises(EdgeportError, match="has no peepholes; keep this LSTM float"):
        Interpreter(model_content=write_tflite(int8_lstm_graph(peephole=True))).allocate_tensors()
    graph = int8_lstm_graph()
    graph.tensors["c"].quant = QuantParams([2.0 ** -8], [0])
    with pytest.raises(EdgeportError, match="cell state must be int16 on a scale 2\\*\\*-15"):
        Interpreter(model_content=write_tflite(graph)).allocate_tensors()
