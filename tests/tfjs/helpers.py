"""Run TF.js exports in Node (@tensorflow/tfjs 4.22 from tests/js) and edgeport's interpreter."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from edgeport.export.tflite import write_tflite
from edgeport.export.tfjs.serve import serve_in_thread
from edgeport.lite import Interpreter

JS_DIR = Path(__file__).resolve().parents[1] / "js"
INSTALL = "npm ci --prefix tests/js"


def require_node() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed (the TF.js tests need Node.js 18+)")
    if not (JS_DIR / "node_modules" / "@tensorflow" / "tfjs").is_dir():
        pytest.fail(f"@tensorflow/tfjs is not installed; run from the repository root: {INSTALL}")


def _encode(x: np.ndarray) -> dict:
    dtype = "int32" if x.dtype.kind in "iu" else "float32"
    data = np.ascontiguousarray(x.astype("<i4" if dtype == "int32" else "<f4"))
    return {"shape": list(x.shape), "dtype": dtype,
            "data": base64.b64encode(data.tobytes()).decode()}


def _decode(out: dict) -> np.ndarray:
    dtype = "<i4" if out["dtype"] == "int32" else "<f4"
    return np.frombuffer(base64.b64decode(out["data"]), dtype).reshape(out["shape"])


def run_tfjs(jobs: list[tuple[Path, list[tuple[str, np.ndarray]]]], timeout: float = 600
             ) -> list[dict]:
    """Load each (export dir, [(input name, array)]) in Node over HTTP and predict.

    Returns per job {"outputs": [arrays], "load_ms", "predict_ms"}; a load or run failure
    fails the test with TF.js's message."""
    require_node()
    servers, specs = [], []
    try:
        for directory, inputs in jobs:
            server, url = serve_in_thread(directory)
            servers.append(server)
            fmt = json.loads((Path(directory) / "model.json").read_text())["format"]
            specs.append({"url": url + "model.json", "format": fmt,
                          "inputs": [{"name": n, **_encode(x)} for n, x in inputs]})
        with tempfile.TemporaryDirectory() as tmp:
            job_file, out_file = Path(tmp, "jobs.json"), Path(tmp, "out.json")
            job_file.write_text(json.dumps(specs))
            proc = subprocess.run(["node", str(JS_DIR / "predict.mjs"), str(job_file),
                                   str(out_file)], cwd=JS_DIR, capture_output=True, text=True,
                                  timeout=timeout)
            if proc.returncode != 0:
                pytest.fail(f"node failed:\n{proc.stderr[-3000:]}")
            results = json.loads(out_file.read_text())
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    for (directory, _), result in zip(jobs, results):
        if "error" in result:
            pytest.fail(f"TF.js could not run {directory}:\n{result['error'][:3000]}")
        result["outputs"] = [_decode(o) for o in result["outputs"]]
    return results


def run_edgeport(graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The graph's outputs from edgeport's interpreter (through .tflite bytes)."""
    interpreter = Interpreter(model_content=write_tflite(graph))
    for detail, x in zip(interpreter.get_input_details(), inputs):
        interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    for detail, x in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], x.astype(detail["dtype"]))
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]


def assert_close(actual: np.ndarray, expected: np.ndarray, rel: float = 1e-4, what: str = ""):
    """|actual - expected| <= rel * scale, scale = max |expected| (at least 1e-6)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-6)
    err = float(np.max(np.abs(actual.astype(np.float64) - expected))) if expected.size else 0.0
    assert err <= rel * scale, f"{what}: max error {err:.3g} > {rel:g} x scale {scale:.3g}"
