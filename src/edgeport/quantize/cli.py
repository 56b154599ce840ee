"""The quantization options of ``edgeport convert``:

    edgeport convert MODEL -o OUT.tflite --quantize {dynamic,float16,int8}
        [--calibration-data x.npy|DIR/] [--calibration-method METHOD] [--io-type float32|int8|uint8]
        [--per-tensor] [--per-tensor-dense] [--integer-only] [--denylist LAYER ...]

`add_arguments` adds them to the convert sub-parser and `configure` applies them to a
`TFLiteConverter`. Calibration data is one .npy file (one input: axis 0 indexes samples), or a
folder of .npy files, one per model input, named after the input (signature or tensor name)
or taken in sorted file-name order; each is read without unpickling.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..errors import QuantizationError
from .observers import METHODS

MODES = ("dynamic", "float16", "int8")
IO_TYPES = {"float32": np.float32, "int8": np.int8, "uint8": np.uint8}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the quantization options to ``edgeport convert``'s parser."""
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
    group.add_argument("--io-type", choices=tuple(IO_TYPES), default="float32",
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
    converter.inference_input_type = converter.inference_output_type = IO_TYPES[args.io_type]
    if args.integer_only:
        converter.target_spec.supported_ops = [OpsSet.TFLITE_BUILTINS_INT8]


def npy_dataset(path: str, input_names: list[str] | None = None):
    """A representative_dataset over .npy data: each item one sample (batch 1) per input."""
    arrays = _load(Path(path), input_names)
    count = {len(a) for a in arrays}
    if len(count) != 1:
        raise QuantizationError(f"{path}: the inputs hold different numbers of samples "
                                f"({sorted(count)})")
    n = count.pop()
    if n == 0:
        raise QuantizationError(f"{path}: holds no samples")

    def dataset():
        for i in range(n):
            yield [a[i:i + 1] for a in arrays]

    return dataset


def _load(path: Path, input_names) -> list[np.ndarray]:
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise QuantizationError(f"{path}: no .npy files in the folder")
        if input_names and {f.stem for f in files} >= set(input_names):
            files = [path / f"{name}.npy" for name in input_names]
        return [_read(f) for f in files]
    return [_read(path)]


def _read(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise QuantizationError(f"{path}: cannot read calibration data ({exc})") from None
    if not isinstance(array, np.ndarray) or array.ndim == 0:
        raise QuantizationError(f"{path}: expected an array with samples along axis 0")
    return array
