"""``edgeport convert MODEL -o OUT.tflite [--quantize ...]``: Keras or .tflite in, .tflite out.

Convert a Keras model (.keras or .h5, read without Keras or TensorFlow) or re-optimize a float
.tflite, and print a summary (ops, parameters, size).
"""

from __future__ import annotations

from .common import add_model_argument, add_output_argument, human_bytes, subcommand
from .quantize_options import add_arguments, configure


def add_parser(commands, common) -> None:
    """The ``convert`` subcommand, for edgeport.cli.build_parser."""
    convert = subcommand(commands, common, "convert", convert_command, __doc__,
                         help="convert a .keras/.h5/.tflite model to .tflite")
    add_model_argument(convert, ".keras, .h5 or .tflite file")
    add_output_argument(convert, "OUT.tflite",
                        help="the .tflite file to write (atomically; an existing file is "
                             "replaced only if it is a .tflite)")
    convert.add_argument("--allow-custom-ops", action="store_true",
                         help="keep the custom ops of a .tflite model (they run only where "
                              "they are registered)")
    add_arguments(convert)


def convert_command(args) -> int:
    """Convert with edgeport.lite.TFLiteConverter (quantizing as the options say), write
    atomically, summarize what was written. Nothing is written when anything fails."""
    from ..frontends import model_format
    from ..frontends.tflite import read_tflite
    from ..io import atomic_write, check_output_file
    from ..lite.converter import TFLiteConverter

    source = str(args.model)
    check_output_file(args.output, ".tflite",
                      inputs=[source] + ([args.calibration_data] if args.calibration_data
                                         else []))
    converter = (TFLiteConverter.from_tflite(source) if model_format(source) == "tflite"
                 else TFLiteConverter.from_keras_file(source))
    converter.allow_custom_ops = args.allow_custom_ops
    configure(converter, args)
    data = converter.convert()
    atomic_write(args.output, data)
    graph = read_tflite(data, args.output)
    usage: dict[str, int] = {}
    graphs = graph.all_graphs()  # a recurrent layer's op sits in a subgraph
    for op in (op for g in graphs for op in g.ops):
        usage[op.type] = usage.get(op.type, 0) + 1
    params = sum(t.data.size for g in graphs for t in g.tensors.values() if t.data is not None)
    print(f"wrote {args.output}: {sum(usage.values())} ops, {params:,} parameters, "
          f"{human_bytes(len(data))}")
    print("  " + ", ".join(f"{n} {op_type}" for op_type, n in
                          sorted(usage.items(), key=lambda item: (-item[1], item[0]))))
    return 0
