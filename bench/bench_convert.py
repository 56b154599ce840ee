"""Benchmark Keras -> .tflite conversion: edgeport against the official TFLite converter.

    python bench/bench_convert.py [--models a,b] [--repeat N] [--tf-python PATH] [--out FILE]

For each keras.applications model (random weights, classifier_activation=None, 224x224x3),
saved once as a .keras file: the wall time from process start to .tflite file written, for
`edgeport convert MODEL.keras -o OUT.tflite` and for a fresh Python running
``tf.lite.TFLiteConverter.from_keras_model(keras.models.load_model(MODEL.keras)).convert()``
in the TensorFlow environment (``--tf-python``, default /tmp/tfenv/bin/python; TensorFlow is
never an edgeport dependency), side by side in one run, the median of N runs each. Both
outputs' ops are counted with edgeport's .tflite reader. Without the TensorFlow environment
the official numbers are the recorded ones: op counts from tests/keras/official_op_counts.json,
times from shared/reference/anchors.md (said so in the report).

Updates only the section between ``<!-- bench_convert:start -->`` and
``<!-- bench_convert:end -->`` of BENCHMARKS.md (appended when absent), atomically; another
script owns the rest of that file. Ratios only mean something within one run: these machines
are shared and absolute times drift.
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
from collections import Counter
from pathlib import Path

from report import BENCHMARKS, ROOT, update_section

SECTION = "bench_convert"
DEFAULT_MODELS = ("MobileNetV2", "MobileNetV3Small", "EfficientNetB0", "ResNet50")
TIMED_BY_DEFAULT = ("MobileNetV2", "ResNet50")
# shared/reference/anchors.md: official float conversion times (import excluded) + ~2 s import
ANCHOR_SECONDS = {"MobileNetV2": 4.9, "MobileNetV3Small": 3.9, "EfficientNetB0": 8.3,
                  "ResNet50": 9.8}
ANCHOR_IMPORT_SECONDS = 2.0

EDGEPORT_CONVERT = ("import sys; from edgeport.cli import main; "
                    "sys.exit(main(['convert', sys.argv[1], '-o', sys.argv[2]]))")
OFFICIAL_CONVERT = (
    "import os, sys; os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3'); "
    "os.environ['KERAS_BACKEND'] = 'tensorflow'; import tensorflow as tf, keras; "
    "model = keras.models.load_model(sys.argv[1]); "
    "data = tf.lite.TFLiteConverter.from_keras_model(model).convert(); "
    "open(sys.argv[2], 'wb').write(data)")


def save_models(names, folder: Path) -> dict[str, Path]:
    """Each model as a .keras file (built once, random weights)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    sys.path.insert(0, str(ROOT))
    from tests.keras.helpers import numpy_initializers

    paths = {}
    for name in names:
        keras.utils.set_random_seed(0)
        with numpy_initializers():
            model = getattr(keras.applications, name)(weights=None, classifier_activation=None,
                                                      input_shape=(224, 224, 3))
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])
    return paths


def timed_run(command: list[str], output: Path) -> float:
    """Seconds from starting ``command`` until it exits having written ``output``."""
    output.unlink(missing_ok=True)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not output.exists():
        raise RuntimeError(f"{' '.join(command[:1])} failed:\n{done.stderr[-3000:]}")
    return seconds


def op_counts(path: Path) -> Counter:
    from edgeport.frontends.tflite import read_tflite

    return Counter(op.type for op in read_tflite(path).ops)


def measure(paths, timed, repeat, tf_python, folder: Path) -> dict:
    results = {}
    for name, path in paths.items():
        row = {}
        runs = repeat if name in timed else 1
        for who, python, script in (("edgeport", sys.executable, EDGEPORT_CONVERT),
                                    ("official", tf_python, OFFICIAL_CONVERT)):
            if python is None:
                continue
            out = folder / f"{name}.{who}.tflite"
            times = [timed_run([python, "-c", script, str(path), str(out)], out)
                     for _ in range(runs)]
            row[who] = {"seconds": statistics.median(times) if name in timed else None,
                        "ops": op_counts(out), "bytes": out.stat().st_size}
            print(f"{name:18s} {who:9s} {fmt(row[who]['seconds']):>8s}  "
                  f"{sum(row[who]['ops'].values())} ops", flush=True)
        results[name] = row
    return results


def report(results, timed, repeat, tf_python, elapsed) -> str:
    official_live = tf_python is not None
    recorded = json.loads((ROOT / "tests/keras/official_op_counts.json").read_text())
    lines = ["## Keras -> .tflite conversion (`bench/bench_convert.py`)", "",
             f"Written by `python bench/bench_convert.py` (do not edit by hand); this run took "
             f"{elapsed:.0f} s on {os.cpu_count()} logical CPUs, Python "
             f"{platform.python_version()}. keras.applications models with random weights, "
             "224x224x3, saved once as .keras; wall time from process start to .tflite file "
             f"written (median of {repeat}), so both include their imports."]
    if official_live:
        lines.append(f"Official: tf.lite.TFLiteConverter in `{tf_python}` (TensorFlow "
                     "installed only there), run side by side in this run; its ops counted "
                     "from the file it wrote.")
    else:
        lines.append("Official: no TensorFlow environment was found, so its numbers are the "
                     "recorded ones, not measured in this run: times from "
                     "shared/reference/anchors.md (conversion + ~2 s import), op counts from "
                     "tests/keras/official_op_counts.json.")
    lines += ["", "| model | edgeport | official | edgeport / official | edgeport ops | "
                  "official ops |", "|---|---|---|---|---|---|"]
    for name, row in results.items():
        ours = row["edgeport"]
        if official_live:
            theirs_s, theirs_ops = row["official"]["seconds"], sum(row["official"]["ops"].values())
        else:
            theirs_s = ANCHOR_SECONDS.get(name)
            theirs_s = theirs_s + ANCHOR_IMPORT_SECONDS if theirs_s else None
            theirs_ops = recorded["models"].get(name, {}).get("ops", "?")
        ours_s = ours["seconds"]
        ratio = f"{ours_s / theirs_s:.2f}" if ours_s and theirs_s else "-"
        lines.append(f"| {name} | {fmt(ours_s)} | {fmt(theirs_s)} | {ratio} | "
                     f"{sum(ours['ops'].values())} | {theirs_ops} |")
    lines += ["", "Ops by type (edgeport / official):", ""]
    for name, row in results.items():
        theirs = (row["official"]["ops"] if official_live
                  else recorded["models"].get(name, {}).get("by_type", {}))
        types = sorted(set(row["edgeport"]["ops"]) | set(theirs))
        lines.append(f"- {name}: " + ", ".join(
            f"{t} {row['edgeport']['ops'].get(t, 0)}/{theirs.get(t, 0)}" for t in types))
    lines += ["", f"Timed models: {', '.join(n for n in results if n in timed)}; the others "
                  "are converted once for their op counts."]
    return "\n".join(lines) + "\n"


def fmt(seconds) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--timed", default=",".join(TIMED_BY_DEFAULT),
                        help="models whose conversion is timed (the rest: op counts only)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tf-python", default="/tmp/tfenv/bin/python")
    parser.add_argument("--out", default=str(BENCHMARKS))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tf_python = args.tf_python if Path(args.tf_python).exists() else None
    names, timed = args.models.split(","), set(args.timed.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = save_models(names, folder)
        results = measure(paths, timed, args.repeat, tf_python, folder)
    section = report(results, timed, args.repeat, tf_python, time.perf_counter() - started)
    update_section(args.out, SECTION, section)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
