"""The jax backend against the NumPy reference: every mediapipe corpus model NumPy runs, within
1e-4 of each output's scale; placement on one device: soft fallback logs, strict raises."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from edgeport.export.tflite import write_tflite
from edgeport.graph import Op, QuantParams, Tensor
from edgeport.runtime.placement import PlacementError, device
from tests.corpus import add_chain_graph, mediapipe_model, runnable_model_names
from tests.devices.helpers import Interpreter, conv_chain_graph, run
from tests.opmodels import Input, op_graph


def random_inputs(interpreter, batch: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (batch, *d["shape"][1:])).astype(d["dtype"])
            for d in interpreter.get_input_details()]


def assert_close(actual, expected, gaps=None):
    """Within 1e-4 of each output's scale or, where a model is too ill-conditioned for that,
    within ``gaps[i]``: LiteRT's own float disagreement (XNNPACK vs its reference kernels)."""
    for i, (a, e) in enumerate(zip(actual, expected)):
        scale = max(float(np.abs(e).max()), 1e-30) if e.size else 1.0
        assert a.dtype == e.dtype and a.shape == e.shape
        bound = max(1e-4 * scale, gaps[i] if gaps is not None else 0.0)
        assert float(np.abs(a - e).max(initial=0)) <= bound, (i, bound)


def litert_gaps(path: str, inputs) -> list[float]:
    """max |XNNPACK - BUILTIN_REF| per output of LiteRT on ``inputs``."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    from ai_edge_litert.interpreter import OpResolverType

    outputs = []
    for resolver in (OpResolverType.AUTO, OpResolverType.BUILTIN_REF):
        litert = LiteRT(model_path=path, experimental_op_resolver_type=resolver)
        outputs.append(run(litert, *inputs))
    return [float(np.abs(x - r).max()) for x, r in zip(*outputs)]


@pytest.mark.parametrize("name", runnable_model_names())
def test_mediapipe_parity(name):
    path = str(mediapipe_model(name))
    reference = Interpreter(model_path=path)
    inputs = random_inputs(reference, batch=2)
    expected = run(reference, *inputs)
    accelerated = Interpreter(model_path=path, backend="jax")
    got = run(accelerated, *inputs)
    try:
        assert_close(got, expected)
    except AssertionError:
        assert_close(got, expected, litert_gaps(path, inputs))
    report = accelerated.placement_report()
    assert {p.kernel for p in report.ops} == {"jax"}  # every op of the corpus has a jax kernel
    assert report.fallbacks == []


def test_conv_chain_parity_and_resize():
    content = write_tflite(conv_chain_graph())
    reference, accelerated = (Interpreter(model_content=content, backend=b)
                              for b in ("numpy", "jax"))
    for batch in (1, 5):
        inputs = random_inputs(reference, batch)
        assert_close(run(accelerated, *inputs), run(reference, *inputs))


@pytest.mark.parametrize("kernel,stride,padding,channels,dilation", [
    (1, 1, "SAME", 5, 1), (1, 2, "SAME", 40, 1), (1, 2, "VALID", 5, 1),  # 1x1: matmul
    (1, 3, "VALID", 5, 1),
    (3, 2, "SAME", 3, 1), (2, 2, "SAME", 5, 1), (3, 1, "VALID", 3, 1),  # small patches: im2col
    (3, 1, "SAME", 3, 2),
    (3, 1, "SAME", 5, 1), (3, 2, "VALID", 5, 1), (3, 1, "SAME", 5, 2)])  # XLA's convolution
def test_conv2d_jax_kernel_matches_numpy(kernel, stride, padding, channels, dilation):
    rng = np.random.default_rng(kernel * 10 + stride)
    weights = rng.standard_normal((6, kernel, kernel, channels)).astype(np.float32)
    bias = rng.standard_normal(6).astype(np.float32)
    graph = op_graph("CONV_2D", [Input((2, 9, 7, channels)), weights, bias],
                     {"padding": padding, "stride_h": stride, "stride_w": stride,
                      "dilation_h_factor": dilation, "dilation_w_factor": dilation,
                      "fused_activation_function": "RELU6"})
    reference, accelerated = (Interpreter(model_content=write_tflite(graph), backend=b)
                              for b in ("numpy", "jax"))
    inputs = random_inputs(reference, 2)
    assert_close(run(accelerated, *inputs), run(reference, *inputs))


@pytest.mark.parametrize("channels,stride,dilation,multiplier", [
    (4, 1, 1, 1), (4, 1, 2, 2), (300, 1, 1, 1),   # W and C folded into one axis, or not
    (4, 2, 1, 1), (300, 2, 1, 1), (6, 1, 1, 2)])
@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_depthwise_jax_kernel_matches_numpy(channels, stride, dilation, multiplier, padding):
    rng = np.random.default_rng(channels + stride)
    depth = channels * multiplier
    graph = op_graph("DEPTHWISE_CONV_2D",
                     [Input((2, 9, 8, channels)),
                      rng.standard_normal((1, 3, 3, depth)).astype(np.float32),
                      rng.standard_normal(depth).astype(np.float32)],
                     {"padding": padding, "stride_h": stride, "stride_w": stride,
                      "dilation_h_factor": dilation, "dilation_w_factor": dilation,
                      "depth_multiplier": multiplier, "fused_activation_function": "NONE"})
    reference, accelerated = (Interpreter(model_content=write_tflite(graph), backend=b)
                              for b in ("numpy", "jax"))
    inputs = random_inputs(reference, 2)
    assert_close(run(accelerated, *inputs), run(reference, *inputs))


def host_op_graph():
    """x -> ADD -> ADD -> FULLY_CONNECTED with int8 weights (a hybrid op: no jax kernel) ->
    ADD."""
    g = add_chain_graph(n_ops=2, shape=(1, 4))
    last = g.outputs[0]
    weights = np.arange(-8, 8, dtype=np.int8).reshape(4, 4)
    g.add_tensor(Tensor("w", (4, 4), np.int8, weights, quant=QuantParams([0.05], [0])))
    g.add_tensor(Tensor("e", (1, 4), np.float32))
    g.add_op(Op("FULLY_CONNECTED", [last, "w", None], ["e"],
                {"fused_activation_function": "NONE", "weights_format": "DEFAULT",
                 "keep_num_dims": False, "asymmetric_quantize_inputs": False,
                 "quantized_bias_type": "FLOAT32"}, origin="fc"))
    g.add_tensor(Tensor("y", (1, 4), np.float32))
    g.add_op(Op("ADD", ["e", "c0"], ["y"], {"fused_activation_function": "NONE",
                                              "pot_scale_int16": False}, origin="last"))
    g.outputs = ["y"]
    return write_tflite(g)


def test_op_without_jax_kernel_runs_numpy_on_host(caplog):
    x = np.ones((1, 4), np.float32)
    interpreter = Interpreter(model_content=host_op_graph(), backend="jax")
    with caplog.at_level(logging.WARNING, "edgeport.placement"):
        out = run(interpreter, x)
    assert caplog.records == []  # the host runs every op: not a fallback
    assert [p.kernel for p in interpreter.placement_report().ops] == ["jax", "jax", "numpy", "jax"]
    assert_close(out, run(Interpreter(model_content=host_op_graph()), x))


def test_missing_device_soft_fallback_logs(caplog):
    x = np.ones((1, 4), np.float32)
    interpreter = Interpreter(model_content=host_op_graph(), backend="jax")
    with device("/GPU:3"), caplog.at_level(logging.WARNING, "edgeport.placement"):
        out = run(interpreter, x)
    assert "fall back to /device:CPU:0" in caplog.text and "no device /device:GPU:3" in caplog.text
    report = interpreter.placement_report()
    assert len(report.fallbacks) == 4 and report.devices == ["/device:CPU:0"]
    assert_close(out, run(Interpreter(model_content=host_op_graph()), x))


def test_missing_device_strict_raises():
    interpreter = Interpreter(model_content=host_op_graph(), backend="jax", strict=True,
                              placement={"e": "/GPU:0"})
    with pytest.raises(PlacementError, match="could not satisfy explicit device specification "
                                             "/device:GPU:0 for op FULLY_CONNECTED"):
        run(interpreter, np.ones((1, 4), np.float32))


def test_placement_key_that_matches_nothing():
    interpreter = Interpreter(model_content=host_op_graph(), backend="jax",
                              placement={"no_such_layer": "/CPU:0"})
    with pytest.raises(ValueError, match="no_such_layer"):
        interpreter.allocate_tensors()


def test_numpy_backend_refuses_device_options():
    with pytest.raises(ValueError, match="need backend='jax'"):
        Interpreter(model_content=host_op_graph(), strategy="pipeline",
                    devices=["/CPU:0"]).allocate_tensors()


def test_log_device_placement(capsys):
    from edgeport.runtime.placement import set_log_device_placement

    set_log_device_placement(True)
    try:
        run(Interpreter(model_content=host_op_graph(), backend="jax"), np.ones((1, 4), np.float32))
    finally:
        set_log_device_placement(False)
    err = capsys.readouterr().err
    assert "op FULLY_CONNECTED (e) in device /device:CPU:0 (numpy)" in err
    assert err.count("in device /device:CPU:0") == 4
