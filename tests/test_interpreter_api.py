"""edgeport.lite.Interpreter keeps tf.lite.Interpreter's contract: the same details (keys, value
types, values), signatures, tensor access and resizing as LiteRT on the same models, and clear
EdgeportErrors where a call is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter as LiteRTInterpreter
from ai_edge_litert.interpreter import OpResolverType

from edgeport.errors import (EdgeportError, InterpreterStateError, TensorError,
                             UnsupportedOpError)
from edgeport.export.tflite import write_tflite
from edgeport.graph import Op, Tensor
from edgeport.lite import Interpreter, register_custom_op
from edgeport.lite import interpreter as interpreter_module
from edgeport.ops import OpDef, get_op, registry
from tests.corpus import (CUSTOM_OP, add_chain_graph, custom_op_graph, feature_graph,
                          mediapipe_model, scale_op)

DETAIL_KEYS = {"name", "index", "shape", "shape_signature", "dtype", "quantization",
               "quantization_parameters", "sparsity_parameters"}
CORPUS = ["hand_recrop", "face_detection_short_range", "face_detection_full_range_sparse",
          "hand_landmark_lite", "iris_landmark"]


def model(name: str) -> bytes:
    builders = {"feature": feature_graph, "add_chain": add_chain_graph}
    if name in builders:
        return write_tflite(builders[name]())
    return mediapipe_model(name).read_bytes()


def both(data: bytes, xnnpack: bool = True, **kwargs):
    """LiteRT and edgeport on the same model. ``xnnpack=False`` drops LiteRT's default
    delegate, which keeps the intermediates it owns at their old shapes after a resize."""
    resolver = OpResolverType.AUTO if xnnpack else \
        OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    return (LiteRTInterpreter(model_content=data, num_threads=1,
                              experimental_op_resolver_type=resolver, **kwargs),
            Interpreter(model_content=data, **kwargs))


def assert_same(want, got, path="details"):
    """Equal values of identical types, recursively (arrays: same dtype and contents)."""
    assert type(got) is type(want), f"{path}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert set(got) == set(want), f"{path}: keys {sorted(got)} != {sorted(want)}"
        for key in want:
            assert_same(want[key], got[key], f"{path}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), f"{path}: length {len(got)} != {len(want)}"
        for i, (w, g) in enumerate(zip(want, got)):
            assert_same(w, g, f"{path}[{i}]")
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype, f"{path}: dtype {got.dtype} != {want.dtype}"
        assert np.array_equal(got, want), f"{path}: {got} != {want}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def pick_details(details: list[dict]) -> list[dict]:
    """The documented keys (LiteRT may add others in later versions)."""
    for d in details:
        assert DETAIL_KEYS <= set(d), f"missing keys {DETAIL_KEYS - set(d)}"
    return [{k: d[k] for k in DETAIL_KEYS} for d in details]


def assert_same_details(litert, ours, stage: str):
    for method in ("get_input_details", "get_output_details", "get_tensor_details"):
        want, got = getattr(litert, method)(), getattr(ours, method)()
        if method == "get_tensor_details":
            # LiteRT's own kernels add scratch tensors (im2col buffers...) after the model's;
            # edgeport has none. The model's tensors come first and must match.
            assert len(want) >= len(got) == len(ours.graph.tensors)
            want = want[:len(got)]
        assert_same(pick_details(want), pick_details(got), f"{stage} {method}()")


def feeds_for(details, seed=0):
    rng = np.random.default_rng(seed)
    values = []
    for d in details:
        shape, dtype = tuple(d["shape"]), d["dtype"]
        values.append(rng.uniform(-2, 2, shape).astype(dtype) if np.issubdtype(dtype, np.floating)
                      else rng.integers(-50, 50, shape).astype(dtype))
    return values


def run(interpreter, feeds):
    for d, value in zip(interpreter.get_input_details(), feeds):
        interpreter.set_tensor(d["index"], value)
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


# -- details ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["feature", "add_chain", *CORPUS])
def test_details_match_litert(name):
    litert, ours = both(model(name))
    assert_same_details(litert, ours, "before allocate_tensors:")
    litert.allocate_tensors()
    ours.allocate_tensors()
    assert_same_details(litert, ours, "after allocate_tensors:")


def test_details_types_are_tf_lite_s():
    ours = Interpreter(model_content=model("feature"))
    detail = ours.get_input_details()[0]
    assert isinstance(detail["name"], str) and isinstance(detail["index"], int)
    assert detail["shape"].dtype == np.int32 and detail["shape_signature"].tolist() == [-1, 4]
    assert detail["dtype"] is np.float32
    assert detail["quantization"] == (0.0, 0)


@pytest.mark.parametrize("name", ["feature", "add_chain"])
def test_resize_batch_to_4_matches_litert(name):
    litert, ours = both(model(name), xnnpack=False)
    for interpreter in (litert, ours):
        index = interpreter.get_input_details()[0]["index"]
        shape = list(interpreter.get_input_details()[0]["shape"])
        interpreter.resize_tensor_input(index, [4, *shape[1:]])
        interpreter.allocate_tensors()
    assert ours.get_input_details()[0]["shape"].tolist()[0] == 4
    assert_same_details(litert, ours, "after resize:")
    feeds = feeds_for(litert.get_input_details())
    for want, got in zip(run(litert, feeds), run(ours, feeds)):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_resize_strict_refuses_a_static_dim():
    ours = Interpreter(model_content=model("add_chain"))
    with pytest.raises(TensorError, match="strict"):
        ours.resize_tensor_input(0, [4, 8, 8, 3], strict=True)
    ours = Interpreter(model_content=model("feature"))  # x is [-1, 4]: batch may change
    ours.resize_tensor_input(0, [4, 4], strict=True)
    ours.allocate_tensors()
    assert ours.get_input_details()[0]["shape"].tolist() == [4, 4]


# -- set_tensor, invoke -----------------------------------------------------------------------

def test_set_tensor_wrong_dtype_names_the_input():
    litert, ours = both(model("add_chain"))
    litert.allocate_tensors()
    ours.allocate_tensors()
    bad = np.zeros((1, 8, 8, 3), np.float64)
    with pytest.raises(ValueError):
        litert.set_tensor(0, bad)
    with pytest.raises(TensorError, match="'x'.*float64") as caught:
        ours.set_tensor(0, bad)
    assert isinstance(caught.value, ValueError)


def test_set_tensor_wrong_shape_names_the_input():
    litert, ours = both(model("add_chain"))
    litert.allocate_tensors()
    ours.allocate_tensors()
    bad = np.zeros((1, 8, 8, 4), np.float32)
    with pytest.raises(ValueError):
        litert.set_tensor(0, bad)
    with pytest.raises(TensorError, match=r"'x'.*\[1, 8, 8, 4\]") as caught:
        ours.set_tensor(0, bad)
    assert isinstance(caught.value, ValueError)


def test_set_tensor_on_a_non_input_is_refused():
    ours = Interpreter(model_content=model("add_chain"))
    ours.allocate_tensors()
    with pytest.raises(TensorError):
        ours.set_tensor(ours.get_output_details()[0]["index"], np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(TensorError, match="out of range"):
        ours.get_tensor(10_000)


def test_invoke_before_allocate_tensors():
    ours = Interpreter(model_content=model("add_chain"))
    with pytest.raises(InterpreterStateError, match="allocate_tensors"):
        ours.invoke()
    ours.allocate_tensors()
    ours.resize_tensor_input(0, [2, 8, 8, 3])
    with pytest.raises(InterpreterStateError):  # a resize asks for a new allocation
        ours.invoke()


@pytest.mark.parametrize("name", ["feature", "hand_recrop", "face_detection_short_range"])
def test_outputs_match_litert(name):
    litert, ours = both(model(name))
    litert.allocate_tensors()
    ours.allocate_tensors()
    feeds = feeds_for(litert.get_input_details())
    for want, got in zip(run(litert, feeds), run(ours, feeds)):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


# -- signatures -------------------------------------------------------------------------------

def test_signature_list_matches_litert():
    litert, ours = both(model("feature"))
    assert ours.get_signature_list() == litert.get_signature_list()
    assert LiteRTInterpreter(model_content=model("add_chain")).get_signature_list() == \
        Interpreter(model_content=model("add_chain")).get_signature_list() == {}


@pytest.mark.parametrize("key", ["serving_default", "double"])
def test_signature_runner_matches_litert(key):
    litert, ours = both(model("feature"))
    want_runner, got_runner = litert.get_signature_runner(key), ours.get_signature_runner(key)
    inputs = {"serving_default": {"x_in": np.float32([[1, -2, 3, -4], [5, 6, 7, 8]]),
                                  "i_in": np.arange(6, dtype=np.int32).reshape(2, 3),
                                  "k_in": np.int64([1, 2, 3])},
              "double": {"a": np.float32([1.5, -3])}}[key]
    want, got = want_runner(**inputs), got_runner(**inputs)
    assert set(got) == set(want)
    for name in want:
        assert got[name].dtype == want[name].dtype, name
        np.testing.assert_array_equal(got[name], want[name])


def test_signature_runner_checks_its_inputs():
    runner = Interpreter(model_content=model("feature")).get_signature_runner("double")
    with pytest.raises(TensorError, match="'a'"):
        runner(b=np.float32([1, 2]))
    with pytest.raises(TensorError, match="'a'"):
        runner(a=np.int32([1, 2]))
    with pytest.raises(ValueError, match="no signature 'nope'"):
        Interpreter(model_content=model("feature")).get_signature_runner("nope")


# -- tensor access ----------------------------------------------------------------------------

def test_tensor_returns_the_live_array():
    ours = Interpreter(model_content=model("add_chain"))
    litert = LiteRTInterpreter(model_content=model("add_chain"))
    for interpreter in (litert, ours):
        interpreter.allocate_tensors()
    results = []
    for interpreter in (litert, ours):
        in_index = interpreter.get_input_details()[0]["index"]
        out = interpreter.tensor(interpreter.get_output_details()[0]["index"])
        first = np.full((1, 8, 8, 3), 0.5, np.float32)
        interpreter.tensor(in_index)()[...] = first  # writing through the view sets the input
        interpreter.invoke()
        seen_first = out().copy()
        interpreter.set_tensor(in_index, first + 1)
        interpreter.invoke()
        results.append((seen_first, out().copy()))  # the same function sees the new result
        assert not np.array_equal(seen_first, out())
    for want, got in zip(results[0], results[1]):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:Warning. Enabling .experimental_preserve_all_tensors.")
def test_preserve_all_tensors_reads_intermediates():
    data = model("add_chain")
    litert, ours = both(data, experimental_preserve_all_tensors=True)
    feeds = [np.random.default_rng(1).standard_normal((1, 8, 8, 3)).astype(np.float32)]
    for interpreter in (litert, ours):
        interpreter.allocate_tensors()
        run(interpreter, feeds)
    index = next(d["index"] for d in ours.get_tensor_details() if d["name"] == "t0")
    np.testing.assert_allclose(ours.get_tensor(index), litert.get_tensor(index), rtol=1e-6)


def test_freed_intermediate_is_refused_without_preserve():
    ours = Interpreter(model_content=model("add_chain"))
    ours.allocate_tensors()
    run(ours, [np.ones((1, 8, 8, 3), np.float32)])
    index = next(d["index"] for d in ours.get_tensor_details() if d["name"] == "t0")
    with pytest.raises(TensorError, match="experimental_preserve_all_tensors"):
        ours.get_tensor(index)
    ours.get_tensor(ours.get_output_details()[0]["index"])  # outputs stay readable
    ours.get_tensor(next(d["index"] for d in ours.get_tensor_details() if d["name"] == "c0"))


# -- custom and missing ops -------------------------------------------------------------------

@pytest.fixture
def no_custom_ops(monkeypatch):
    monkeypatch.setattr(interpreter_module, "_CUSTOM_OPS", {})


def test_unregistered_custom_op_fails_at_construction(no_custom_ops):
    with pytest.raises(UnsupportedOpError, match=f"CUSTOM:{CUSTOM_OP}.*register_custom_op"):
        Interpreter(model_content=write_tflite(custom_op_graph()))


def test_registered_custom_op_runs(no_custom_ops):
    seen = []

    def scale(inputs, options):
        seen.append(options)
        return scale_op(inputs, options)

    register_custom_op(CUSTOM_OP, scale)
    ours = Interpreter(model_content=write_tflite(custom_op_graph()))
    ours.allocate_tensors()
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (out,) = run(ours, [x])
    np.testing.assert_array_equal(out, x * 3 + 1)  # custom options' first byte is 3
    assert seen[-1] == bytes([3, 0, 255, 7])


def test_missing_ops_are_all_listed(monkeypatch, no_custom_ops):
    """A model with builtins edgeport lacks and an unregistered custom op: one error names
    them all."""
    candidates = ["HASHTABLE", "RFFT2D", "IMAG", "REAL", "COMPLEX_ABS", "CALL_ONCE",
                  "HASHTABLE_SIZE", "HASHTABLE_FIND"]
    lacking = [name for name in candidates if get_op(name) is None][:2]
    assert len(lacking) == 2
    graph = custom_op_graph()
    for i, name in enumerate(lacking):
        graph.add_tensor(Tensor(f"extra{i}", (2, 3), np.float32))
        graph.add_op(Op(name, ["z"], [f"extra{i}"]))
        graph.outputs.append(f"extra{i}")
    with monkeypatch.context() as patch:  # stand-in definitions, only to write the file
        for name in lacking:
            patch.setitem(registry.OPS, name, OpDef())
        data = write_tflite(graph)
    with pytest.raises(UnsupportedOpError) as caught:
        Interpreter(model_content=data)
    message = str(caught.value)
    for name in [*lacking, f"CUSTOM:{CUSTOM_OP}"]:
        assert name in message, f"{name} not named in: {message}"


def test_construction_errors_are_edgeport_errors(tmp_path):
    with pytest.raises(EdgeportError):
        Interpreter(model_path=tmp_path / "missing.tflite")
    with pytest.raises(ValueError):
        Interpreter()


# -- threads ----------------------------------------------------------------------------------

@pytest.mark.parametrize("num_threads, expected", [(None, 1), (1, 1), (2, 2)])
def test_num_threads_limits_blas_threads_while_invoking(no_custom_ops, num_threads, expected):
    """num_threads is the thread count kernels get, as in LiteRT (1 when not given); kernels
    see it as NumPy's BLAS thread count while the model runs, and it is restored after."""
    from threadpoolctl import threadpool_info

    def blas_thread_counts():
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    before = blas_thread_counts()
    seen = []

    def scale(inputs, options):
        seen.append(blas_thread_counts())
        return scale_op(inputs, options)

    register_custom_op(CUSTOM_OP, scale)
    ours = Interpreter(model_content=write_tflite(custom_op_graph()), num_threads=num_threads)
    ours.allocate_tensors()
    run(ours, [np.ones((2, 3), np.float32)])
    assert seen[-1] and all(n == expected for n in seen[-1])
    assert blas_thread_counts() == before
