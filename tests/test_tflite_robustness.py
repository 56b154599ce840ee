"""A damaged .tflite file is refused with an EdgeportError that names the file, or it loads and
runs: never another exception, a crash, a hang or an allocation sized by garbage.

1,000 seeded mutations (byte flips, random byte runs, insertions, deletions, truncations) of real
and synthetic models, each run through edgeport.lite.Interpreter under a time budget and a memory
ceiling; plus explicit damaged files whose error type and message are checked.
"""

from __future__ import annotations

import contextlib
import re
import resource
import signal
import traceback
from pathlib import Path

import numpy as np
import pytest
import tflite

from edgeport.errors import EdgeportError, ModelFormatError
from edgeport.export.tflite import write_tflite
from edgeport.frontends.tflite import read_tflite
from edgeport.graph import Graph, Tensor
from edgeport.lite import Interpreter
from edgeport.lite import interpreter as interpreter_module
from tests.corpus import (CUSTOM_OP, add_chain_graph, custom_op_graph, feature_graph,
                          mediapipe_model, scale_op)

N_MUTATIONS = 1000
CASE_SECONDS = 10  # one load + run of a small model takes well under a second
MEMORY_HEADROOM = 3 << 30  # no case may need more than this on top of what the process holds

# (model, share of the mutations): small models, so that 1,000 runs stay fast.
MUTATED_MODELS = (("hand_recrop", 250), ("face_detection_short_range", 200),
                  ("selfie_segmentation", 100), ("feature", 250), ("add_chain", 100),
                  ("custom_op", 100))


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` can swallow it."""


@contextlib.contextmanager
def time_budget(seconds: float):
    def expire(signum, frame):
        raise CaseTimeout(f"exceeded {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def memory_ceiling(headroom: int):
    """Cap the address space at what the process uses now plus ``headroom``: a huge
    allocation then fails with MemoryError, which the cases report as a failure."""
    used = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + headroom
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def model_bytes(name: str) -> bytes:
    builders = {"feature": feature_graph, "add_chain": add_chain_graph,
                "custom_op": custom_op_graph}
    if name in builders:
        return write_tflite(builders[name]())
    return mediapipe_model(name).read_bytes()


def structure_positions(data: bytes) -> np.ndarray:
    """Byte positions outside constant buffer data: the flatbuffer tables, vectors and strings
    where damage is interesting (flipping a weight only changes a number)."""
    is_structure = np.ones(len(data), bool)
    model = tflite.Model.GetRootAs(data, 0)
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength():
            start = buffer._tab.Vector(buffer._tab.Offset(4))
            is_structure[start:start + buffer.DataLength()] = False
    return np.flatnonzero(is_structure)


def mutate(data: bytes, structure: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """One random damage to ``data``, mostly aimed at its structure; returns it and a label."""
    kind = rng.choice(["flip", "run", "insert", "delete", "truncate"], p=[.35, .2, .15, .15, .15])

    def position():
        if rng.random() < 0.8:
            return int(structure[rng.integers(len(structure))])
        return int(rng.integers(len(data)))

    buf = bytearray(data)
    if kind == "flip":
        spots = [position() for _ in range(1 if rng.random() < 0.5 else rng.integers(2, 9))]
        for p in spots:
            buf[p] ^= int(rng.integers(1, 256))
        return bytes(buf), f"flip at {spots}"
    if kind == "truncate":
        n = int(rng.integers(0, len(data)))
        return data[:n], f"truncate to {n}"
    p, n = position(), int(rng.integers(1, 65))
    noise = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    if kind == "run":
        buf[p:p + n] = noise
        return bytes(buf[:len(data)]), f"{n} random bytes at {p}"
    if kind == "insert":
        return data[:p] + noise + data[p:], f"insert {n} bytes at {p}"
    return data[:p] + data[p + n:], f"delete {n} bytes at {p}"


def load_and_run(source, seed: int = 0, **kwargs) -> None:
    """What a user does with a model: construct, allocate, set random inputs, invoke, read."""
    if isinstance(source, (bytes, bytearray)):
        interpreter = Interpreter(model_content=bytes(source), **kwargs)
    else:
        interpreter = Interpreter(model_path=source, **kwargs)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(seed)
    for d in interpreter.get_input_details():
        shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
        if dtype.kind == "f":
            value = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind == "b":
            value = rng.integers(0, 2, shape).astype(bool)
        else:
            value = rng.integers(0, 100, shape).astype(dtype)
        interpreter.set_tensor(d["index"], value)
    interpreter.invoke()
    for d in interpreter.get_output_details():
        interpreter.get_tensor(d["index"])


def run_case(data: bytes, seed: int) -> str:
    """'ran' or 'refused'; anything else raises (a timeout, a MemoryError, any other error)."""
    try:
        load_and_run(data, seed)
    except EdgeportError:
        return "refused"
    return "ran"


def guarded(run, label: str, failures: list[str]):
    """``run()``'s result under the time budget (within the caller's memory ceiling), or None
    with one line naming ``label`` appended to ``failures`` for a hang, a huge allocation or
    any exception ``run`` lets through."""
    try:
        with time_budget(CASE_SECONDS):
            return run()
    except CaseTimeout:
        failures.append(f"{label}: hang, over {CASE_SECONDS} s")
    except MemoryError:
        failures.append(f"{label}: huge allocation (over {MEMORY_HEADROOM >> 30} GiB)")
    except Exception as exc:  # noqa: BLE001 - the point is to catch anything
        where = traceback.extract_tb(exc.__traceback__)[-1]
        failures.append(f"{label}: {type(exc).__name__}: {exc} "
                        f"[at {Path(where.filename).name}:{where.lineno}]")
    return None


# -- seeded mutations -------------------------------------------------------------------------

def test_mutated_models_are_refused_cleanly_or_run(monkeypatch):
    monkeypatch.setitem(interpreter_module._CUSTOM_OPS, CUSTOM_OP, scale_op)
    rng = np.random.default_rng(20240607)
    failures, outcomes = [], {"ran": 0, "refused": 0}
    case = 0
    with memory_ceiling(MEMORY_HEADROOM):
        for name, count in MUTATED_MODELS:
            original = model_bytes(name)
            structure = structure_positions(original)
            for _ in range(count):
                damaged, how = mutate(original, structure, rng)
                outcome = guarded(lambda: run_case(damaged, case), f"case {case} ({name}, {how})",
                                  failures)
                if outcome is not None:
                    outcomes[outcome] += 1
                case += 1
    assert case == N_MUTATIONS
    assert not failures, f"{len(failures)} of {case} cases failed:\n" + "\n".join(failures[:25])
    # Both outcomes must really happen, or the mutations are not testing what they claim.
    assert outcomes["ran"] > 50 and outcomes["refused"] > 50, outcomes


@pytest.mark.parametrize("name", ["hand_recrop", "feature", "add_chain"])
def test_every_truncation_point_of_the_structure_is_refused_or_harmless(name):
    """Cutting the file inside its tables (not inside weights) is refused cleanly or harmless."""
    original = model_bytes(name)
    structure = structure_positions(original)
    cuts = np.unique(np.concatenate([np.arange(0, 64), structure[::max(1, len(structure) // 150)]]))
    for n in cuts:
        with time_budget(CASE_SECONDS):
            run_case(original[:n], 0)


def test_the_guards_can_fail():
    """The time budget and memory ceiling used above really stop a hang and a huge allocation."""
    with pytest.raises(CaseTimeout), time_budget(0.2):
        while True:
            pass
    with pytest.raises(MemoryError), memory_ceiling(MEMORY_HEADROOM):
        np.ones(MEMORY_HEADROOM * 2, np.uint8)


def test_many_tensors_with_one_name_load_in_linear_time():
    """Duplicate names are made unique (name, name_1, ...) without a quadratic search: 20,000
    tensors all called "tensor" would take minutes that way."""
    graph = Graph(name="main")
    for i in range(20000):
        graph.add_tensor(Tensor(f"t{i:05d}", (1,), np.float32))
    graph.inputs = graph.outputs = ["t00000"]
    data = re.sub(rb"t\d{5}", b"tensor", write_tflite(graph))
    with time_budget(5):
        names = list(read_tflite(data).tensors)
    assert names[:3] == ["tensor", "tensor_1", "tensor_2"] and names[-1] == "tensor_19999"
    assert len(set(names)) == 20000


# -- explicit damaged files -------------------------------------------------------------------

def refuse(tmp_path, data: bytes, match: str) -> ModelFormatError:
    """Load ``data`` from a file both ways; each must raise ModelFormatError naming the file
    and matching ``match``."""
    path = tmp_path / "damaged.tflite"
    path.write_bytes(data)
    with pytest.raises(ModelFormatError, match=match) as caught:
        read_tflite(path)
    assert str(path) in str(caught.value)
    with pytest.raises(ModelFormatError, match=match) as caught:
        Interpreter(model_path=path)
    assert str(path) in str(caught.value)
    return caught.value


def test_empty_file(tmp_path):
    refuse(tmp_path, b"", "not a .tflite file")


def test_seven_bytes(tmp_path):
    refuse(tmp_path, b"\x10\x00\x00\x00TFL", "not a .tflite file")


def test_wrong_identifier(tmp_path):
    data = bytearray(write_tflite(add_chain_graph()))
    data[4:8] = b"ONNX"
    refuse(tmp_path, bytes(data), "identifier")


def test_text_file(tmp_path):
    refuse(tmp_path, b"This is not a model, it is a text file about models.\n" * 20,
           "not a .tflite file")


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "nowhere.tflite"
    with pytest.raises(ModelFormatError, match="cannot read") as caught:
        Interpreter(model_path=path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.25, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, fraction):
    data = write_tflite(feature_graph())
    refuse(tmp_path, data[:max(8, int(len(data) * fraction))],
           "corrupt or truncated|more than the file can hold|outside the file")


def _patch_u32(data: bytes, position: int, value: int) -> bytes:
    buf = bytearray(data)
    buf[position:position + 4] = np.uint32(value).tobytes()
    return bytes(buf)


def test_op_input_tensor_index_out_of_range(tmp_path):
    data = write_tflite(add_chain_graph())
    op = tflite.Model.GetRootAs(data, 0).Subgraphs(0).Operators(1)
    inputs_start = op._tab.Vector(op._tab.Offset(6))  # Operator.inputs
    refuse(tmp_path, _patch_u32(data, inputs_start + 4, 999), "refers to tensor 999")


def test_op_output_tensor_index_out_of_range(tmp_path):
    data = write_tflite(add_chain_graph())
    op = tflite.Model.GetRootAs(data, 0).Subgraphs(0).Operators(0)
    outputs_start = op._tab.Vector(op._tab.Offset(8))  # Operator.outputs
    refuse(tmp_path, _patch_u32(data, outputs_start, 0x7FFFFFF0), "refers to tensor")


def test_buffer_index_out_of_range(tmp_path):
    data = write_tflite(add_chain_graph())
    sub = tflite.Model.GetRootAs(data, 0).Subgraphs(0)
    constant = next(sub.Tensors(i) for i in range(sub.TensorsLength())
                    if sub.Tensors(i).Buffer() != 0)
    position = constant._tab.Pos + constant._tab.Offset(8)  # Tensor.buffer
    refuse(tmp_path, _patch_u32(data, position, 4242), "buffer 4242")


def test_opcode_index_out_of_range(tmp_path):
    data = write_tflite(custom_op_graph())  # the ADD op has opcode index 1, stored explicitly
    op = tflite.Model.GetRootAs(data, 0).Subgraphs(0).Operators(1)
    assert op.OpcodeIndex() == 1
    position = op._tab.Pos + op._tab.Offset(4)  # Operator.opcode_index
    refuse(tmp_path, _patch_u32(data, position, 77), "opcode index 77")


def test_impossible_shape(tmp_path):
    data = write_tflite(add_chain_graph())
    tensor = tflite.Model.GetRootAs(data, 0).Subgraphs(0).Tensors(0)
    shape_start = tensor._tab.Vector(tensor._tab.Offset(4))  # Tensor.shape
    refuse(tmp_path, _patch_u32(data, shape_start + 4, 0xFFFFFF00), "impossible shape")
