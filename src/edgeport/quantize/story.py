"""The chapter's story on the built-in example: one trained model, four ways to ship it.

`chapter_story` converts the shipped digits CNN (edgeport.examples) with
edgeport.lite.TFLiteConverter, exactly as the chapter does with tf.lite, to
- float: the plain conversion;
- weights-only int8: ``optimizations = [Optimize.DEFAULT]``, no data;
- float16: ``target_spec.supported_types = [float16]``;
- int8: full integer, calibrated on 100 training images (``representative_dataset``),
  integer-only ops and int8 input/output, as a microcontroller needs;
writes the four .tflite files, and prints their size, accuracy on the held-out test split and
latency (batch 1, one thread: edgeport's interpreter, and LiteRT when it is installed).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

CALIBRATION_SAMPLES = 100


def variant_converters(model_path, calibration: np.ndarray) -> dict:
    """``{variant name: configured TFLiteConverter}`` for the four variants."""
    from ..lite import OpsSet, Optimize, TFLiteConverter

    def converter(**settings):
        c = TFLiteConverter.from_keras_file(model_path)
        for attr, value in settings.items():
            setattr(c, attr, value)
        return c

    float16 = converter(optimizations=[Optimize.DEFAULT])
    float16.target_spec.supported_types = [np.float16]
    int8 = converter(optimizations=[Optimize.DEFAULT], calibration_progress=False,
                     representative_dataset=lambda: ([x[None]] for x in calibration),
                     inference_input_type=np.int8, inference_output_type=np.int8)
    int8.target_spec.supported_ops = [OpsSet.TFLITE_BUILTINS_INT8]
    return {"float": converter(),
            "weights-only int8": converter(optimizations=[Optimize.DEFAULT]),
            "float16": float16,
            "int8": int8}


def chapter_story(out_dir: str | os.PathLike, console=None, runs: int = 50) -> list:
    """Convert, write ``out_dir/digits_<variant>.tflite``, print the size / accuracy /
    latency table, and return its rows (edgeport.quantize.report.VariantRow)."""
    from ..examples import digits_calibration_images, digits_test_split, trained_digits_model_path
    from ..io import atomic_write
    from .report import variants, variants_table

    if console is None:
        from rich.console import Console

        console = Console(markup=False, emoji=False, highlight=False)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images, labels = digits_test_split()
    calibration = digits_calibration_images()[:CALIBRATION_SAMPLES]
    paths = {}
    for name, converter in variant_converters(trained_digits_model_path(), calibration).items():
        paths[name] = out_dir / f"digits_{name.replace(' ', '_').replace('-', '_')}.tflite"
        atomic_write(paths[name], converter.convert())
        console.print(f"wrote {paths[name]}")
    rows = variants(paths, images, labels, runtimes=_runtimes(), runs=runs)
    console.print(variants_table(rows, title=f"the digits CNN four ways ({len(labels)} test "
                                             "images; latency: median ms, batch 1, 1 thread)"))
    base = rows[0]
    for row in rows[1:]:
        console.print(f"{row.name}: {base.bytes / row.bytes:.1f}x smaller than float, accuracy "
                      f"{100 * row.accuracy:.2f}% (float {100 * base.accuracy:.2f}%)")
    return rows


def _runtimes() -> tuple[str, ...]:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return ("edgeport",)
    return ("edgeport", "litert")
