"""UNIDIRECTIONAL_SEQUENCE_LSTM and _RNN against LiteRT's reference kernels, with their state in
variable tensors: carried across invokes, reset by reset_all_variables, resized by index, as
in LiteRT (docs/research/litert-lstm.md)."""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter as LiteRT, OpResolverType

from edgeport.errors import EdgeportError
from edgeport.export.tflite import write_tflite
from edgeport.graph import Graph, Op, Tensor
from edgeport.lite import Interpreter
from edgeport.ops import get_op

F, U, T = 3, 4, 5


def lstm_graph(cifg=False, peephole=False, projection=0, layer_norm=False, time_major=False,
               activation="TANH", cell_clip=0.0, proj_clip=0.0, seed=0) -> Graph:
    """One LSTM op over x [batch, time, F] (time-major: [time, batch, F]), its states
    variable tensors; ``projection`` > 0 projects the output to that many units."""
    rng = np.random.default_rng(seed)
    out = projection or U
    g = Graph(name="main")
    g.add_tensor(Tensor("x", (T, -1, F) if time_major else (-1, T, F), np.float32))

    def const(name, shape):
        g.add_tensor(Tensor(name, shape, np.float32, rng.normal(0, 0.5, shape).astype(np.float32)))
        return name

    inputs = ["x"]
    inputs += [None if cifg and k == 0 else const(f"w{k}", (U, F)) for k in range(4)]
    inputs += [None if cifg and k == 0 else const(f"r{k}", (U, out)) for k in range(4)]
    inputs += [None if not peephole or (cifg and k == 0) else const(f"p{k}", (U,))
               for k in range(3)]
    inputs += [None if cifg and k == 0 else const(f"b{k}", (U,)) for k in range(4)]
    inputs += [const("proj", (out, U)) if projection else None,
               const("proj_b", (out,)) if projection else None]
    for name, size in (("h", out), ("c", U)):
        g.add_tensor(Tensor(name, (-1, size), np.float32, is_variable=True))
    inputs += ["h", "c"]
    inputs += [None if not layer_norm or (cifg and k == 0) else const(f"n{k}", (U,))
               for k in range(4)]
    g.add_tensor(Tensor("y", (T, -1, out) if time_major else (-1, T, out), np.float32))
    g.add_op(Op("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, ["y"], {
        "fused_activation_function": activation, "cell_clip": cell_clip,
        "proj_clip": proj_clip, "time_major": time_major,
        "asymmetric_quantize_inputs": False, "diagonal_recurrent_tensors": False}))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def rnn_graph(activation="TANH") -> Graph:
    rng = np.random.default_rng(1)
    g = Graph(name="main")
    g.add_tensor(Tensor("x", (-1, T, F), np.float32))
    for name, shape in (("w", (U, F)), ("r", (U, U)), ("b", (U,))):
        g.add_tensor(Tensor(name, shape, np.float32, rng.normal(0, 0.5, shape).astype(np.float32)))
    g.add_tensor(Tensor("h", (-1, U), np.float32, is_variable=True))
    g.add_tensor(Tensor("y", (-1, T, U), np.float32))
    g.add_op(Op("UNIDIRECTIONAL_SEQUENCE_RNN", ["x", "w", "r", "b", "h"], ["y"],
                {"fused_activation_function": activation, "time_major": False,
                 "asymmetric_quantize_inputs": False}))
    g.inputs, g.outputs = ["x"], ["y"]
    return g


def invoke_twice(interpreter, x, batch_axis=0):
    """Outputs of two invokes on ``x``, then of one after reset_all_variables. The state
    tensors are resized to the batch by their index, as LiteRT needs."""
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], x.shape)
    for state in interpreter.get_tensor_details():
        if state["name"] in ("h", "c"):
            interpreter.resize_tensor_input(state["index"],
                                            [x.shape[batch_axis], state["shape"][1]])
    interpreter.allocate_tensors()
    outputs = []
    for reset in (False, False, True):
        if reset:
            interpreter.reset_all_variables()
        interpreter.set_tensor(detail["index"], x)
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))
    return outputs


def assert_like_litert(graph: Graph, x: np.ndarray, batch_axis=0, atol=1e-5):
    model = write_tflite(graph)
    want = invoke_twice(LiteRT(model_content=model,
                               experimental_op_resolver_type=OpResolverType.BUILTIN_REF), x,
                        batch_axis)
    got = invoke_twice(Interpreter(model_content=model), x, batch_axis)
    for w, g in zip(want, got):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=atol)
    assert np.abs(want[1] - want[0]).max() > 1e-3  # the state carried over
    np.testing.assert_array_equal(got[2], got[0])
    jax = Interpreter(model_content=model, backend="jax")
    for w, g in zip(got, invoke_twice(jax, x, batch_axis)):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-5 * np.abs(w).max())


@pytest.mark.parametrize("options", [
    {}, {"cifg": True}, {"peephole": True}, {"cifg": True, "peephole": True},
    {"projection": 3, "proj_clip": 0.3}, {"layer_norm": True}, {"cell_clip": 0.5},
    {"activation": "RELU"}, {"activation": "RELU6"}, {"time_major": True},
], ids=lambda o: ",".join(o) or "plain")
def test_lstm_matches_litert_and_carries_its_state(options):
    time_major = options.get("time_major", False)
    x = np.random.default_rng(2).normal(size=(T, 2, F) if time_major else (2, T, F))
    assert_like_litert(lstm_graph(**options), x.astype(np.float32), int(time_major))


@pytest.mark.parametrize("activation", ["TANH", "RELU"])
def test_rnn_matches_litert_and_carries_its_state(activation):
    x = np.random.default_rng(3).normal(size=(3, T, F)).astype(np.float32)
    assert_like_litert(rnn_graph(activation), x)


def test_the_state_is_read_and_set_by_index_as_in_litert():
    """A state tensor holds the final state after an invoke, and a state set by index is
    where the next invoke starts, in both."""
    model = write_tflite(lstm_graph())
    x = np.random.default_rng(4).normal(size=(1, T, F)).astype(np.float32)
    results = []
    for interpreter in (LiteRT(model_content=model), Interpreter(model_content=model)):
        names = {d["name"]: d["index"] for d in interpreter.get_tensor_details()}
        interpreter.allocate_tensors()
        interpreter.set_tensor(names["x"], x)
        interpreter.invoke()
        final = interpreter.get_tensor(names["h"])
        interpreter.set_tensor(names["h"], np.full((1, U), 0.5, np.float32))
        interpreter.invoke()
        results.append((final, interpreter.get_tensor(interpreter.get_output_details()[0]["index"])))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_a_state_that_does_not_fit_the_batch_is_refused_as_in_litert():
    model = write_tflite(lstm_graph())
    x = np.zeros((2, T, F), np.float32)
    with pytest.raises(RuntimeError, match="n_batch"):
        invoke_litert = LiteRT(model_content=model)
        invoke_litert.resize_tensor_input(0, x.shape)
        invoke_litert.allocate_tensors()
    interpreter = Interpreter(model_content=model)
    interpreter.resize_tensor_input(0, x.shape)
    with pytest.raises(EdgeportError, match="resize the state tensors"):
        interpreter.allocate_tensors()


def test_activations_litert_leaves_undefined_are_refused():
    graph = lstm_graph(activation="NONE")
    with pytest.raises(Exception, match="fused_activation_function NONE"):
        Interpreter(model_content=write_tflite(graph)).allocate_tensors()


def test_versions_follow_op_version_cc():
    lstm = get_op("UNIDIRECTIONAL_SEQUENCE_LSTM")
    graph = lstm_graph()
    assert lstm.version(graph.ops[0], graph) == 1
    for k in range(4):
        graph.tensors[f"w{k}"].dtype = np.dtype(np.int8)
    assert lstm.version(graph.ops[0], graph) == 2
    graph.ops[0].attrs["asymmetric_quantize_inputs"] = True
    assert lstm.version(graph.ops[0], graph) == 3
    graph = rnn_graph()
    assert get_op("UNIDIRECTIONAL_SEQUENCE_RNN").version(graph.ops[0], graph) == 1
