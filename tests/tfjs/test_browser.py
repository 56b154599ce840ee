"""The demo page in headless Chromium (playwright-core, /usr/bin/chromium), served by
edgeport's server with a local tf.min.js: it loads, takes an input, and shows edgeport's
prediction. Screenshots are kept as test artifacts in the test's tmp dir."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgeport.examples import digits_cnn
from edgeport.export.tfjs import export_web
from edgeport.export.tfjs.serve import serve_in_thread
from tests.tfjs.helpers import JS_DIR, require_node, run_edgeport

CHROMIUM = Path("/usr/bin/chromium")
TFJS = JS_DIR / "node_modules" / "@tensorflow" / "tfjs" / "dist" / "tf.min.js"


def open_page(directory: Path, action: str, screenshot: Path) -> dict:
    require_node()
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing; install it with: apt-get install -y chromium")
    server, url = serve_in_thread(directory)
    try:
        out = directory.parent / f"{directory.name}-page.json"
        proc = subprocess.run(["node", str(JS_DIR / "browser.mjs"), url + "index.html",
                               str(screenshot), str(out), action], cwd=JS_DIR,
                              capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(out.read_text())
    finally:
        server.shutdown()
        server.server_close()


def check_shown(page: dict, expected: np.ndarray) -> None:
    """The page's top-5 rows are edgeport's top-5 classes and scores (shown to 4 decimals)."""
    assert page["errors"] == [], page["errors"]
    shown = page["predictions"]
    order = np.argsort(-expected, kind="stable")[:5]
    assert [row["index"] for row in shown][0] == int(order[0])
    for row in shown:
        assert abs(row["score"] - expected[row["index"]]) <= 5e-5 + 1e-4 * np.abs(expected).max()
    assert "inference" in page["time"] and "ms" in page["time"]


def test_digits_demo_draw_and_predict(tmp_path):
    out = tmp_path / "digits"
    export_web(digits_cnn(), out, tfjs_path=TFJS, labels=[str(i) for i in range(10)])
    shot = tmp_path / "digits.png"
    page = open_page(out, "draw", shot)
    assert "graph-model loaded" in page["status"] and "TF.js 4.22.0" in page["status"]
    (given,) = page["input"]
    x = np.asarray(given["data"], np.float32).reshape(given["shape"])
    assert x.shape == (1, 8, 8, 1) and x.max() > 0.5 and x.min() == 0  # the drawn stroke
    (want,) = run_edgeport(digits_cnn(), [x])
    check_shown(page, want[0])
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_an_int8_model_shows_its_note_and_predicts_as_its_float_form(tmp_path):
    """An int8 .tflite exported for the web computes in float32; the page says so."""
    from edgeport.examples import digits_calibration_images, trained_digits_model_path
    from edgeport.frontends.tflite import read_tflite
    from edgeport.lite import Optimize, TFLiteConverter
    from edgeport.passes.dequantize import dequantize_graph

    converter = TFLiteConverter.from_keras_file(trained_digits_model_path())
    converter.optimizations = [Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([x[None]] for x in
                                                digits_calibration_images()[:32])
    converter.calibration_progress = False
    model = tmp_path / "int8.tflite"
    model.write_bytes(converter.convert())
    out = tmp_path / "int8-web"
    export_web(model, out, tfjs_path=TFJS)
    page = open_page(out, "draw", tmp_path / "int8.png")
    assert page["note"].startswith("note: ") and "float32" in page["note"]
    (given,) = page["input"]
    x = np.asarray(given["data"], np.float32).reshape(given["shape"])
    (want,) = run_edgeport(dequantize_graph(read_tflite(model)), [x])
    check_shown(page, want[0])


def test_vector_demo_form(tmp_path):
    import keras
    L = keras.layers
    model = keras.Sequential([keras.Input((4,)), L.Dense(8, activation="relu"),
                              L.Dense(3, activation="softmax")])
    model.set_weights([np.random.default_rng(i).normal(size=w.shape).astype(np.float32)
                       for i, w in enumerate(model.get_weights())])
    out = tmp_path / "mlp"
    export_web(model, out, tfjs_path=TFJS)
    values = [0.5, -1.25, 2.0, 0.75]
    page = open_page(out, "vector:" + ",".join(map(str, values)), tmp_path / "mlp.png")
    assert "layers-model loaded" in page["status"]
    want = model.predict(np.array([values], np.float32), verbose=0)[0]
    check_shown(page, want)


def test_page_uses_the_cdn_without_a_local_tfjs(tmp_path):
    export_web(digits_cnn(), tmp_path / "m")
    info = json.loads((tmp_path / "m" / "demo.json").read_text())
    assert info["tfjs"].startswith("https://cdn.jsdelivr.net/npm/@tensorflow/tfjs@4.22.0/")
    assert not (tmp_path / "m" / "tf.min.js").exists()
    assert {"index.html", "demo.js", "model.json"} <= {p.name for p in (tmp_path / "m").iterdir()}
