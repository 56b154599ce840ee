"""The quantization options of ``edgeport convert``:

    edgeport convert MODEL -o OUT.tflite --quantize {dynamic,float16,int8}
        [--calibration-data x.npy|DIR/] [--calibration-method METHOD] [--io-type float32|int8|uint8]
        [--per-tensor] [--per-tensor-dense] [--integer-only] [--denylist LAYER ...]

`add_arguments` adds them to the convert sub-parser and `configure` applies them to a
`TFLiteConverter`, as the tf.lite attributes a Python user would set. The calibration data is
read by `data_files.npy_dataset`.
"""

from __future__ import annotations

from ..errors import QuantizationError
from .common import IO_TYPES, io_type
from .data_files import npy_dataset

MODES = ("dynamic", "float16", "int8")


def add_arguments(parser) -> None:
    """Add the quantization options to ``edgeport convert``'s parser."""
    from ..quantize.observers import METHODS

    group = parser.add_argument_group("quantization")
    group.add_argument("--quantize", choices=MODES,
                       help="dynamic: int8 weights (about 4x smaller); float16: float16 "
                            "weights (2x); int8: full integer, calibrated on "
                            "--calibration-data")
    group.add_argument("--calibration-data", metavar="x.npy|DIR",
                       help="samples for --quantize int8: one .npy (axis 0 = samples) or a "
                            "folder with one .npy per model input")
    group.add_argument("--calibration-method", default="minmax", metavar="METHOD",
                       help=f"{', '.join(METHODS)} (percentile:99.9 sets the percentile); "
                            "default minmax")
    group.add_argument("--io-type", choices=IO_TYPES, default="float32",
                       help="int8 model input/output type (default float32)")
    group.add_argument("--per-tensor", action="store_true",
                       help="per-tensor weights everywhere (default per channel)")
    group.add_argument("--per-tensor-dense", action="store_true",
                       help="per-tensor FULLY_CONNECTED weights (TFLite Micro)")
    group.add_argument("--integer-only", action="store_true",
                       help="fail unless every op is int8 (TFLITE_BUILTINS_INT8)")
    group.add_argument("--denylist", nargs="+", default=[], metavar="LAYER",
                       help="layers (Keras names) or op types (e.g. SOFTMAX) to keep float")


def configure(converter, args) -> None:
    """Set ``converter``'s quantization attributes from parsed ``args``; QuantizationError
    for inconsistent options or unreadable calibration data."""
    import numpy as np

    from ..lite.converter import Optimize, OpsSet

    mode = args.quantize
    if mode is None:
        if args.calibration_data or args.io_type != "float32" or args.integer_only:
            raise QuantizationError("--calibration-data, --io-type and --integer-only need "
                                    "--quantize int8")
        return
    if mode != "int8" and (args.calibration_data or args.io_type != "float32"):
        raise QuantizationError(f"--calibration-data and --io-type apply to --quantize int8, "
                                f"not {mode}")
    converter.optimizations = [Optimize.DEFAULT]
    converter.per_channel = not args.per_tensor
    converter._experimental_disable_per_channel_quantization_for_dense_layers = \
        args.per_tensor_dense
    converter.denylisted_ops = [d for d in args.denylist if d.isupper()]
    converter.denylisted_nodes = [d for d in args.denylist if not d.isupper()]
    if mode == "float16":
        converter.target_spec.supported_types = [np.float16]
    if mode != "int8":
        return
    if not args.calibration_data:
        raise QuantizationError("--quantize int8 needs --calibration-data (x.npy or a folder "
                                "of .npy files, one per input)")
    converter.calibration_method = args.calibration_method
    converter.representative_dataset = npy_dataset(args.calibration_data)
    converter.inference_input_type = converter.inference_output_type = io_type(args.io_type)
    if args.integer_only:
        converter.target_spec.supported_ops = [OpsSet.TFLITE_BUILTINS_INT8]
