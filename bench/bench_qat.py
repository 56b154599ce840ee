"""Benchmark quantization-aware training: time per epoch of `QATModel.fit` on the jax backend.

    python bench/bench_qat.py [--samples N] [--epochs N] [--batch-sizes 32,128] [--out FILE]

Model: edgeport's shipped digits CNN (edgeport.examples, 3 conv blocks with batch norm folded,
two max-pools, two dense layers), its ranges calibrated on the shipped 200 calibration images,
then fine-tuned with labels on ``--samples`` images (the test split repeated). For each batch
size: the first epoch (jit compilation included) and the median of the following epochs, and
samples per second, on the device jax runs on by default (the GPU when jax sees one, else the
CPU); run it on a GPU machine to fill in the GPU rows.

Updates only the ``bench_qat`` section of BENCHMARKS.md (bench/report.py). These machines are
shared: absolute times drift, compare rows of one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.report import BENCHMARKS, load_average, update_section  # noqa: E402

SECTION = "bench_qat"


def epoch_times(batch_size: int, samples: int, epochs: int) -> list[float]:
    import edgeport.qat as qat
    from edgeport.examples import (digits_calibration_images, digits_test_split,
                                   trained_digits_model_path)

    x, y = digits_test_split()
    repeat = -(-samples // len(x))
    x, y = np.concatenate([x] * repeat)[:samples], np.concatenate([y] * repeat)[:samples]
    model = qat.prepare(trained_digits_model_path(),
                        representative_dataset=digits_calibration_images())
    model.fit(x, y, epochs=epochs, batch_size=batch_size, learning_rate=1e-4, verbose=0)
    return model.history["seconds"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-sizes", default="32,128")
    parser.add_argument("--out", default=str(BENCHMARKS))
    args = parser.parse_args(argv)
    import jax

    device = jax.devices()[0]
    rows = []
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        times = epoch_times(batch, args.samples, args.epochs)
        steady = statistics.median(times[1:]) if len(times) > 1 else times[0]
        rows.append(f"| {device.platform} ({device.device_kind}) | {batch} | {times[0]:.2f} | "
                    f"{steady:.3f} | {args.samples / steady:,.0f} |")
        print(rows[-1], flush=True)
    body = "\n".join([
        "## Quantization-aware training (bench/bench_qat.py)",
        "",
        f"`QATModel.fit` on the shipped digits CNN (fake-quant int8, per-channel weights), "
        f"{args.samples} samples per epoch, {args.epochs} epochs; jax {jax.__version__}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load "
        f"{load_average()}.",
        "",
        "| device | batch | first epoch (s, with jit) | epoch (s, median) | samples/s |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "GPU rows come from running this script on a machine where jax sees a GPU.",
    ])
    update_section(args.out, SECTION, body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
