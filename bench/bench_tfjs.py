"""TF.js export: bundle size against tensorflowjs_converter, and load/predict time in Node (issue 5).

    python bench/bench_tfjs.py [--converter PATH] [--repeat N] [--out FILE]

1. Bundle size (model.json + weight shards) of ``edgeport.export.tfjs.export_web`` against the
   official ``tensorflowjs_converter`` (tensorflowjs 4.22.0, in its own environment: it needs
   TensorFlow, jax, flax, tf_keras and tensorflow_decision_forests, never edgeport
   dependencies) for the same Keras models: a digits-sized CNN trained one step with Adam (so
   the .keras file carries optimizer state, as a trained model's does) and
   keras.applications.MobileNetV2(weights=None, classifier_activation=None); float32 and uint8 weights. The official
   converter runs on the .keras file (``--input_format keras_keras``) and on the same model
   saved as .h5 (``--input_format keras``), and each of its bundles is loaded in TF.js 4.22 to
   say whether it works. Without the converter (``--converter`` missing) the official figures
   are the recorded ones of shared/reference/anchors.md, said so in the report.
2. TF.js load and predict time in Node (@tensorflow/tfjs 4.22, CPU backend, through
   tests/js/predict.mjs and tests/tfjs/helpers.py as the tests run it; install it with
   ``npm ci --prefix tests/js``) for the float32 and uint8 bundles of the digits example
   (edgeport.examples.digits_cnn, a graph model) and of MobileNetV2 (a layers model), batch 1.
   Each bundle is loaded and run N times in one Node process, each time from scratch over
   HTTP: the first time is cold (V8 and TF.js warm up), the median of the others warm. The
   outputs are compared with edgeport's interpreter on the float model.

Updates only the ``bench_tfjs`` section of BENCHMARKS.md (bench/report.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402  (tests/tfjs/helpers.py reports failures with pytest.fail)

from report import BENCHMARKS, ROOT, load_average, update_section  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.tfjs.helpers import require_node, run_tfjs  # noqa: E402

SECTION = "bench_tfjs"
CONVERTER = "/tmp/tfjsenv/bin/tensorflowjs_converter"
ANCHORS = ROOT.parent / "shared" / "reference" / "anchors.md"
# Official converter runs: label -> (input file suffix, extra arguments)
OFFICIAL = {"official, .keras": (".keras", ["--input_format", "keras_keras",
                                            "--output_format", "tfjs_layers_model"]),
            "official, .keras, uint8": (".keras", ["--input_format", "keras_keras",
                                                   "--output_format", "tfjs_layers_model",
                                                   "--quantize_uint8", "*"]),
            "official, .h5": (".h5", ["--input_format", "keras"])}


def keras_models(folder: Path) -> dict[str, tuple[Path, int]]:
    """name -> (.keras path, parameter count); each also saved as .h5 next to it."""
    import keras

    sys.path.insert(0, str(ROOT))
    from tests.keras.helpers import numpy_initializers

    keras.utils.set_random_seed(0)
    digits = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax")], name="digits")
    digits.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    digits.fit(rng.uniform(0, 1, (32, 8, 8, 1)).astype(np.float32), rng.integers(0, 10, 32),
               epochs=1, verbose=0)
    with numpy_initializers():
        mobilenet = keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3),
                                                   classifier_activation=None)
    paths = {}
    for name, model in (("digits CNN (Keras)", digits), ("MobileNetV2", mobilenet)):
        path = folder / f"{model.name}.keras"
        model.save(path)
        model.save(path.with_suffix(".h5"))
        paths[name] = (path, model.count_params())
    return paths


def bundle_size(directory: Path) -> dict:
    """Bytes of model.json and of the weight shards, and the shard count."""
    shards = sorted(directory.glob("*.bin"))
    return {"json": (directory / "model.json").stat().st_size,
            "weights": sum(p.stat().st_size for p in shards), "shards": len(shards)}


def official_export(converter: str, source: Path, args: list[str], out: Path) -> float:
    """Run tensorflowjs_converter; seconds it took (its imports included)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    done = subprocess.run([converter, *args, str(source), str(out)], capture_output=True,
                          text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not (out / "model.json").exists():
        raise RuntimeError(f"tensorflowjs_converter failed:\n{done.stderr[-2000:]}")
    return seconds


def official_versions(converter: str) -> str:
    """Versions of the packages the converter's environment runs it with."""
    python = Path(converter).with_name("python")
    code = ("from importlib.metadata import version as v; print(', '.join(p + ' ' + v(p) for p "
            "in ('tensorflowjs', 'tensorflow', 'tf_keras', 'keras', 'jax', "
            "'tensorflow_decision_forests', 'protobuf')))")
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() or "versions unknown"


def tfjs_loads(directory: Path, x: np.ndarray) -> str:
    """'yes' if TF.js loads and runs the bundle, else its error's first line."""
    try:
        run_tfjs([(directory, [("input", x)])])
        return "yes"
    except pytest.fail.Exception as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return "no: " + (lines[1] if len(lines) > 1 else lines[0])[:160]


def sizes(models: dict, converter: str | None, folder: Path) -> list[dict]:
    """One row per (model, exporter): sizes, export seconds, loads in TF.js."""
    from edgeport.export.tfjs import export_web

    rows = []
    for name, (path, params) in models.items():
        shape = (1, 8, 8, 1) if "digits" in name else (1, 224, 224, 3)
        x = np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)
        for label, quantize in (("edgeport", None), ("edgeport, uint8", "uint8")):
            out = folder / f"{path.stem}.{label}".replace(", ", "-")
            start = time.perf_counter()
            summary = export_web(path, out, quantize=quantize)
            rows.append({"model": name, "params": params, "exporter": label,
                         "format": summary["format"], "seconds": time.perf_counter() - start,
                         **bundle_size(out), "loads": tfjs_loads(out, x)})
            print(f"{name:20s} {label:24s} {rows[-1]['weights']:>11,d} B  {rows[-1]['loads']}",
                  flush=True)
        if converter is None:
            continue
        for label, (suffix, args) in OFFICIAL.items():
            out = folder / f"{path.stem}.{label}".replace(", ", "-")
            try:
                seconds = official_export(converter, path.with_suffix(suffix), args, out)
            except RuntimeError as exc:
                rows.append({"model": name, "params": params, "exporter": label,
                             "error": str(exc).strip().splitlines()[-1][:160]})
                continue
            rows.append({"model": name, "params": params, "exporter": label,
                         "format": json.loads((out / "model.json").read_text())["format"],
                         "seconds": seconds, **bundle_size(out), "loads": tfjs_loads(out, x)})
            print(f"{name:20s} {label:24s} {rows[-1]['weights']:>11,d} B  {rows[-1]['loads']}",
                  flush=True)
    return rows


def reference_output(model, x: np.ndarray) -> np.ndarray:
    """edgeport's interpreter on the float model (an IR graph or a .keras path)."""
    from edgeport.export.tflite import write_tflite
    from edgeport.lite import Interpreter, TFLiteConverter

    content = (TFLiteConverter.from_keras_file(model).convert() if isinstance(model, Path)
               else write_tflite(model))
    interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def timings(models: dict, repeat: int, folder: Path) -> list[dict]:
    """Node load/predict times of the float32 and uint8 bundles of digits_cnn and MobileNetV2."""
    from edgeport.examples import digits_cnn
    from edgeport.export.tfjs import export_web

    rows = []
    for name, model, shape in (("digits_cnn (edgeport.examples)", digits_cnn(), (1, 8, 8, 1)),
                               ("MobileNetV2", models["MobileNetV2"][0], (1, 224, 224, 3))):
        x = np.random.default_rng(1).uniform(0, 1, shape).astype(np.float32)
        want = reference_output(model, x)
        scale = max(float(np.abs(want).max()), 1e-30)
        for quantize in (None, "uint8"):
            out = folder / f"timed-{len(rows)}"
            summary = export_web(model, out, quantize=quantize)
            input_name = json.loads((out / "demo.json").read_text())["inputs"][0]["name"]
            results = run_tfjs([(out, [(input_name, x)])] * repeat)
            load = [r["load_ms"] for r in results]
            predict = [r["predict_ms"] for r in results]
            error = max(float(np.abs(r["outputs"][0] - want).max()) for r in results) / scale
            rows.append({"model": name, "format": summary["format"],
                         "dtype": quantize or "float32", **bundle_size(out),
                         "load_cold": load[0], "predict_cold": predict[0],
                         "load_warm": statistics.median(load[1:] or load),
                         "predict_warm": statistics.median(predict[1:] or predict),
                         "error": error})
            print(f"{name:32s} {rows[-1]['dtype']:8s} load {load[0]:8.1f} / "
                  f"{rows[-1]['load_warm']:8.1f} ms  predict {predict[0]:8.1f} / "
                  f"{rows[-1]['predict_warm']:8.1f} ms  err {error:.1e}", flush=True)
    return rows


def kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.2f} MiB"


def anchor_lines() -> list[str]:
    """The TF.js converter part of shared/reference/anchors.md, quoted."""
    if not ANCHORS.exists():
        return [f"({ANCHORS} not found)"]
    text = ANCHORS.read_text()
    start = text.find("## Official TF.js converter")
    end = text.find("\n## ", start + 1)
    return [f"> {line}" if line else ">" for line in text[start:end if end != -1 else None]
            .strip().splitlines()]


def report(size_rows: list[dict], time_rows: list[dict], converter: str | None, repeat: int,
           elapsed: float, loads: tuple[str, str]) -> str:
    from importlib.metadata import version

    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    lines = ["## TF.js export: bundle size and Node load/predict time (`bench/bench_tfjs.py`)", "",
             f"Written by `python bench/bench_tfjs.py` (do not edit by hand); one run of "
             f"{elapsed:.0f} s on {os.cpu_count()} logical CPUs ({platform.machine()}), load "
             f"average {loads[0]} at the start and {loads[1]} at the end (1/5/15 min; the "
             f"machine is shared). Python {platform.python_version()}, keras "
             f"{version('keras')}, Node {node}, @tensorflow/tfjs 4.22 (CPU backend).", "",
             "### Bundle size (model.json + weight shards) against tensorflowjs_converter", ""]
    if converter:
        lines += [f"Official: `{converter}` in a throwaway environment ("
                  f"{official_versions(converter)}; TensorFlow is never an edgeport "
                  "dependency), run in this run. `pip install tensorflowjs==4.22.0` resolves to "
                  "tensorflow 2.19.0 and protobuf 5.29, with which the converter dies importing "
                  "tensorflow_decision_forests 1.12 (protobuf gencode 6.31.1 > runtime 5.29.6); "
                  "protobuf 6.31.1 installed over it (`--no-deps`) makes it run. 'loads in TF.js' "
                  "= `tf.loadLayersModel` + `predict` in Node. The digits CNN was trained one "
                  "step with Adam before saving, as a trained model would be; MobileNetV2 is "
                  "`keras.applications.MobileNetV2(weights=None, classifier_activation=None)` "
                  "(logits out, so that errors show), never compiled.", "",
                  "| model | exporter | format | model.json | weights | shards | total | "
                  "vs edgeport | export time | loads in TF.js |",
                  "|---|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for row in size_rows:
            if "error" in row:
                lines.append(f"| {row['model']} | {row['exporter']} | - | - | - | - | - | - | - "
                             f"| converter failed: {row['error']} |")
                continue
            total = row["json"] + row["weights"]
            base = next(r for r in size_rows if r["model"] == row["model"]
                        and r["exporter"] == ("edgeport, uint8" if "uint8" in row["exporter"]
                                              else "edgeport"))
            lines.append(f"| {row['model']} ({row['params']:,} params) | {row['exporter']} | "
                         f"{row['format']} | {kib(row['json'])} | {kib(row['weights'])} | "
                         f"{row['shards']} | {kib(total)} | "
                         f"{total / (base['json'] + base['weights']):.2f}x | "
                         f"{row['seconds']:.2f} s | {row['loads']} |")
        lines += ["", "'vs edgeport' compares with edgeport's bundle of the same weight dtype. "
                      "Export times: the official converter's is a fresh process, its imports (TensorFlow, "
                      "tensorflow_decision_forests...) included; edgeport's is `export_web` "
                      "in this process (reading the .keras file and writing the bundle, "
                      "imports excluded)."]
    else:
        lines += ["tensorflowjs_converter was not available in this run (`--converter` "
                  "missing), so the official side is what shared/reference/anchors.md "
                  "recorded, not measured here:", ""] + anchor_lines() + [
                  "", "| model | exporter | format | model.json | weights | shards | loads in "
                  "TF.js |", "|---|---|---|---:|---:|---:|---|"]
        lines += [f"| {r['model']} | {r['exporter']} | {r['format']} | {kib(r['json'])} | "
                  f"{kib(r['weights'])} | {r['shards']} | {r['loads']} |" for r in size_rows]
    lines += ["", "### TF.js load and predict time in Node, float32 vs uint8 weights", "",
              f"Batch 1. Each bundle loaded (`tf.loadLayersModel` / `tf.loadGraphModel` over "
              f"HTTP from 127.0.0.1) and run {repeat} times in one Node process; 'cold' is the "
              "first time, 'warm' the median of the others. Predict includes reading the output "
              "back. 'error' is max |TF.js output - edgeport interpreter output (float model)| / "
              "max |that output|.", "",
              "| model | format | weights | bundle | load cold | load warm | predict cold | "
              "predict warm | error |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in time_rows:
        lines.append(f"| {r['model']} | {r['format']} | {r['dtype']} | "
                     f"{kib(r['json'] + r['weights'])} | {r['load_cold']:.1f} ms | "
                     f"{r['load_warm']:.1f} ms | {r['predict_cold']:.1f} ms | "
                     f"{r['predict_warm']:.1f} ms | {r['error']:.1e} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--converter", default=CONVERTER,
                        help="tensorflowjs_converter executable (its own environment)")
    parser.add_argument("--repeat", type=int, default=7, help="loads + predicts per bundle")
    parser.add_argument("--out", default=str(BENCHMARKS))
    args = parser.parse_args(argv)
    require_node()
    started, load_start = time.perf_counter(), load_average()
    converter = args.converter if Path(args.converter).exists() else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models = keras_models(folder)
        size_rows = sizes(models, converter, folder)
        time_rows = timings(models, args.repeat, folder)
    section = report(size_rows, time_rows, converter, args.repeat,
                     time.perf_counter() - started, (load_start, load_average()))
    update_section(args.out, SECTION, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
