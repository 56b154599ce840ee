"""``edgeport compare FLOAT.tflite QUANT.tflite --data x.npy [--labels y.npy] [--plot out.png]
[--top N]``: the quantization report (edgeport.quantize.report) from a shell.

Run a float .tflite and its quantized version on the same data and show, per layer (worst
first), the SQNR and max error of the quantized run, then both models' size, accuracy (with
--labels) and latency.

Prints the per-layer SQNR / max-error table, worst first, then both models' size, latency and
(with ``--labels``) accuracy side by side. ``--data`` is given once per model input, in input
order, batch first, float (an int8/uint8 model input is quantized with its own parameters).
"""

from __future__ import annotations

from .common import CommandError, make_console, subcommand
from .data_files import load_npy


def add_parser(commands, common) -> None:
    """The ``compare`` subcommand, for edgeport.cli.build_parser."""
    compare = subcommand(commands, common, "compare", compare_command, __doc__,
                         help="per-layer error of a quantized model vs its float one")
    compare.add_argument("float_model", metavar="FLOAT.tflite", help="the float model")
    compare.add_argument("quant_model", metavar="QUANT.tflite", help="its quantized version")
    compare.add_argument("--data", action="append", required=True, metavar="X.npy",
                         help="inputs, batch first: one .npy per model input, in input order")
    compare.add_argument("--labels", metavar="Y.npy",
                         help="integer class labels, to report each model's accuracy")
    compare.add_argument("--plot", metavar="OUT.png",
                         help="write the SQNR per layer as a PNG (needs matplotlib)")
    compare.add_argument("--top", type=int, default=20, metavar="N",
                         help="show the N worst layers (default 20, 0 = all)")


def compare_command(args) -> int:
    """Check the arguments before the slow runs, compare the two models on the data, print
    the per-layer table, the outputs' summary line and the size/accuracy/latency table."""
    import numpy as np

    from ..quantize.report import compare, variants, variants_table

    data = [load_npy(path) for path in args.data]
    data = [x.astype(np.float32) if x.dtype.kind == "f" else x for x in data]
    labels = None
    if args.labels:
        labels = load_npy(args.labels)
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data[0]):
            raise CommandError(f"{args.labels}: labels must be {len(data[0])} integers (one per "
                               f"sample of {args.data[0]}), the file holds {labels.dtype} "
                               f"{list(labels.shape)}")
    if args.plot:  # fail before the runs rather than after
        from ..io import check_output_file

        check_output_file(args.plot, ".png", inputs=[args.float_model, args.quant_model,
                                                      *args.data])
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise CommandError("--plot needs matplotlib, which is not installed "
                               "(pip install matplotlib)") from None
    try:
        report = compare(args.float_model, args.quant_model, data)
        rows = variants({"float": args.float_model, "quantized": args.quant_model}, data,
                        labels, runs=20)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    console = make_console()
    console.print(report.to_table(top=args.top or None))
    summary = [f"{report.samples} samples"]
    for row in report.outputs:
        summary.append(f"output {row.tensor}: SQNR {row.sqnr_db:.1f} dB, max error "
                       f"{row.max_abs_error:.4g}")
    if report.top1_agreement is not None:
        summary.append(f"top-1 agreement {100 * report.top1_agreement:.2f}%")
    console.print("; ".join(summary))
    console.print(variants_table(rows, title="size, accuracy and latency (batch 1, one "
                                             "thread)"))
    if args.plot:
        console.print(f"wrote {report.plot(args.plot)}")
    return 0
