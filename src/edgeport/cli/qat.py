"""``edgeport qat``: quantization-aware fine-tuning from a shell.

Fine-tune a float model with fake int8 quantization (jax), then write the int8 .tflite it
simulated. Without --labels the model learns from its own float outputs (no labels needed).

    edgeport qat MODEL(.keras|.h5|.tflite) --data train.npz [--labels] --epochs N -o OUT.tflite
        [--batch-size N] [--learning-rate LR] [--per-tensor] [--learn-scales]
        [--calibration-samples N] [--validation-split F] [--io-type float32|int8|uint8]

``train.npz`` holds ``x`` (the inputs, axis 0 indexing samples) and, with ``--labels``, ``y``;
without labels the model distils from its own float outputs. It is read without unpickling.
The int8 model is written atomically, and only when training and conversion succeed.
"""

from __future__ import annotations

import argparse

from ..errors import QuantizationError
from .common import IO_TYPES, add_model_argument, add_output_argument, io_type, subcommand
from .data_files import load_npz


def add_parser(commands, common) -> None:
    """The ``qat`` subcommand, for edgeport.cli.build_parser."""
    qat = subcommand(commands, common, "qat", qat_command, __doc__,
                     help="quantization-aware training to an int8 .tflite")
    add_model_argument(qat, ".keras, .h5 or float .tflite file")
    qat.add_argument("--data", required=True, metavar="train.npz",
                     help="x (inputs, axis 0 = samples) and, with --labels, y")
    qat.add_argument("--labels", action="store_true", help="train on the labels y in --data")
    qat.add_argument("--epochs", type=_positive_int, default=5, metavar="N")
    qat.add_argument("--batch-size", type=_positive_int, default=32, metavar="N")
    qat.add_argument("--learning-rate", type=float, default=1e-4, metavar="LR")
    qat.add_argument("--per-tensor", action="store_true",
                     help="per-tensor weights (TFLite Micro); default per channel")
    qat.add_argument("--learn-scales", action="store_true",
                     help="train the activation ranges (LSQ) instead of moving averages")
    qat.add_argument("--calibration-samples", type=_positive_int, default=200, metavar="N",
                     help="samples of x that initialise the ranges (default 200)")
    qat.add_argument("--validation-split", type=float, default=0.0, metavar="F",
                     help="hold out the last fraction F of x for validation and early "
                          "stopping")
    qat.add_argument("--patience", type=_positive_int, metavar="N",
                     help="stop after N epochs without a better validation loss")
    qat.add_argument("--io-type", choices=IO_TYPES, default="float32",
                     help="the int8 model's input/output type (default float32)")
    add_output_argument(qat, "OUT.tflite")


def qat_command(args) -> int:
    """Prepare, fit, convert, write; print the accuracy (or float agreement) before and
    after."""
    from ..io import atomic_write, check_output_file
    from ..qat import prepare

    check_output_file(args.output, ".tflite", inputs=[args.model, args.data])
    x, y = load_npz(args.data, args.labels)
    if not 0.0 <= args.validation_split < 1.0:
        raise QuantizationError("--validation-split must be in [0, 1)")
    held = int(len(x) * args.validation_split)
    validation = None
    if held:
        x, x_val = x[:-held], x[-held:]
        if y is not None:
            y, y_val = y[:-held], y[-held:]
            validation = (x_val, y_val)
        else:
            validation = x_val
    model = prepare(args.model, representative_dataset=x[:args.calibration_samples],
                    per_channel=not args.per_tensor, learn_scales=args.learn_scales)
    check = validation if validation is not None else (x, y)
    check_x, check_y = check if isinstance(check, tuple) else (check, None)
    before = model.evaluate(check_x, check_y)
    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size,
              learning_rate=args.learning_rate, validation_data=validation,
              patience=args.patience)
    after = model.evaluate(check_x, check_y)
    io_dtype = io_type(args.io_type)
    data = model.convert(io_dtype, io_dtype, check_data=check_x)
    atomic_write(args.output, data)
    what = "accuracy" if check_y is not None else "agreement with float"
    if "accuracy" in before:
        print(f"fake-quant {what}: {before['accuracy']:.2%} before, "
              f"{after['accuracy']:.2%} after")
    print(f"wrote {args.output}: {len(data):,} bytes, int8/fake-quant top-1 agreement "
          f"{model.agreement:.2%}")
    return 0


def _positive_int(text: str) -> int:
    """qat's own whole-number check, kept as it was: its messages differ from
    common.positive_int's, and argparse names it ("invalid _positive_int value")."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be at least 1")
    return value
