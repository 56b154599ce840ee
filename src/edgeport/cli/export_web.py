"""``edgeport export-web MODEL -o DIR``: a TF.js bundle and demo page
(edgeport.export.tfjs.export_web), then ``edgeport serve DIR`` shows it.

Write a TF.js bundle (model.json, weight shards) and a demo page. Keras models become layers
models when TF.js has all their layers, anything else a graph model.
"""

from __future__ import annotations

from .common import add_model_argument, add_output_argument, subcommand


def add_parser(commands, common) -> None:
    """The ``export-web`` subcommand, for edgeport.cli.build_parser."""
    from ..export.tfjs import FORMATS
    from ..export.tfjs.weights import DEFAULT_SHARD_SIZE, QUANTIZATION_DTYPES

    export = subcommand(commands, common, "export-web", export_web_command, __doc__,
                        help="export a model for the browser (TF.js + demo page)")
    add_model_argument(export, ".keras, .h5 or .tflite file")
    add_output_argument(export, "DIR",
                        help="the folder to write: new or empty (written atomically)")
    export.add_argument("--overwrite", action="store_true",
                        help="replace an earlier edgeport bundle in DIR (nothing else is ever "
                             "replaced)")
    export.add_argument("--format", choices=FORMATS, default="auto",
                        help="TF.js model format (default: auto)")
    export.add_argument("--quantize", action="append", metavar="DTYPE[=PATTERNS]",
                        help=f"store weights as {'/'.join(QUANTIZATION_DTYPES)}; optional comma-"
                             "separated fnmatch weight-name patterns, e.g. uint8='conv*/kernel' "
                             "(repeatable)")
    export.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE, metavar="BYTES",
                        help="weight shard size (default 4 MiB)")
    export.add_argument("--tfjs", metavar="TF.MIN.JS",
                        help="copy this local tf.min.js next to the page (works offline); "
                             "default: load TF.js from the jsDelivr CDN")
    export.add_argument("--labels", metavar="FILE", help="class names, one per line")


def parse_quantize(values: list[str] | None):
    """``["uint8=conv*,dense/*", "float16"]`` -> ``{"uint8": "conv*,dense/*", "float16": None}``:
    the repeated --quantize DTYPE[=PATTERNS] flags as export_web's ``quantize`` mapping."""
    if not values:
        return None
    plan = {}
    for value in values:
        dtype, _, patterns = value.partition("=")
        plan[dtype.strip()] = patterns or None
    return plan


def export_web_command(args) -> int:
    """Export with edgeport.export.tfjs.export_web (labels read from --labels, one per line)
    and print what was written and how to open it."""
    from pathlib import Path

    from ..export.tfjs import export_web

    labels = None
    if args.labels:
        labels = [line.strip() for line in Path(args.labels).read_text().splitlines()
                  if line.strip()]
    summary = export_web(args.model, args.output, format=args.format,
                         quantize=parse_quantize(args.quantize), shard_size=args.shard_size,
                         tfjs_path=args.tfjs, labels=labels, overwrite=args.overwrite)
    print(f"wrote {summary['format']} to {summary['dir']} ({summary['bytes']:,} bytes of model "
          f"and weights): {', '.join(summary['files'])}")
    if summary.get("note"):
        print(f"note: {summary['note']}")
    print(f"open it with: edgeport serve {summary['dir']}   then http://127.0.0.1:8000/")
    return 0
