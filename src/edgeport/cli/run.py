"""``edgeport run MODEL``: run a model once on .npy inputs or random data.

Run a model once with edgeport.lite.Interpreter and print each output's shape, dtype and
min/max/mean. Inputs are resized to the given arrays; float data for an int8/uint8/int16 input
is quantized with the input's scale and zero point.
"""

from __future__ import annotations

from .common import (CommandError, add_backend_arguments, add_model_argument, make_console,
                     open_interpreter, placement_summary, positive_int, shape_text, subcommand)
from .data_files import load_npy


def add_parser(commands, common) -> None:
    """The ``run`` subcommand, for edgeport.cli.build_parser."""
    run = subcommand(commands, common, "run", run_command, __doc__,
                     help="run a model on .npy inputs or random data")
    add_model_argument(run, ".tflite file")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", dest="inputs", action="append", metavar="X.npy",
                        help="a .npy file per model input, in the model's input order")
    source.add_argument("--random", action="store_true",
                        help="feed random inputs of the model's input shapes")
    run.add_argument("--seed", type=int, default=0, help="random seed for --random (default 0)")
    run.add_argument("--batch", type=positive_int, metavar="N",
                     help="with --random: resize the first dimension of every input to N")
    run.add_argument("--output", metavar="OUT.npz",
                     help="write the outputs to an .npz keyed by output tensor name")
    run.add_argument("--dequantize", action="store_true",
                     help="show and write integer (quantized) outputs as float reals, with "
                          "their scale and zero point")
    add_backend_arguments(run)


def run_command(args) -> int:
    from rich.table import Table

    from ..lite.interpreter import feed_inputs
    from ..lite.values import dequantize_output, is_quantized

    if args.output:  # refuse a bad --output before running anything
        from ..io import check_output_file

        check_output_file(args.output, ".npz", inputs=[args.model, *(args.inputs or [])])
    interpreter = open_interpreter(args)
    console = make_console()
    if args.inputs:
        arrays = _load_inputs(interpreter, args.model, args.inputs, console)
    else:
        arrays = random_inputs(interpreter, args.seed, args.batch)
    feed_inputs(interpreter, arrays)
    interpreter.invoke()
    outputs = {}
    for detail in interpreter.get_output_details():
        value = interpreter.get_tensor(detail["index"])
        if args.dequantize and is_quantized(detail):
            console.print(f"output {detail['name']!r}: dequantized from {value.dtype} "
                          f"({_quant_text(detail)})")
            value = dequantize_output(value, detail)
        outputs[detail["name"]] = value

    console.print("inputs: " + ", ".join(
        f"{d['name']} {shape_text(value.shape)} {value.dtype}"
        for d, value in zip(interpreter.get_input_details(), arrays))
        + ("" if args.inputs else f" (random, seed {args.seed})"))
    if args.backend == "jax":
        console.print(placement_summary(interpreter))

    table = Table(title=f"{args.model}: outputs", title_justify="left")
    table.add_column("output")
    table.add_column("shape")
    table.add_column("dtype")
    for column in ("min", "max", "mean"):
        table.add_column(column, justify="right")
    for name, value in outputs.items():
        table.add_row(name, shape_text(value.shape), str(value.dtype), *_stats(value))
    console.print(table)
    if args.output:
        _save_npz(args.output, outputs)
        print(f"wrote {len(outputs)} output(s) to {args.output}")
    return 0


def _load_inputs(interpreter, model: str, paths: list[str], console) -> list:
    """The arrays of ``paths``, checked against the model's inputs (count, dtype, shape) so
    that every complaint names the .npy file at fault. Float data for a quantized input is
    quantized with its scale and zero point (TFLite's QUANTIZE), and ``console`` says so."""
    import numpy as np

    from ..lite.values import is_quantized, quantize_input

    details = interpreter.get_input_details()
    if len(paths) != len(details):
        names = ", ".join(d["name"] for d in details)
        raise CommandError(f"{model} takes {len(details)} input(s) ({names}), got "
                           f"{len(paths)} --input file(s)")
    arrays = []
    for path, detail in zip(paths, details):
        value = load_npy(path)
        want_dtype, signature = detail["dtype"], [int(d) for d in detail["shape_signature"]]
        where = f"{path}: input {detail['name']!r} of {model}"
        if value.dtype.kind == "f" and value.dtype != want_dtype and is_quantized(detail):
            console.print(f"input {detail['name']!r}: {path} quantized from {value.dtype} to "
                          f"{np.dtype(want_dtype)} ({_quant_text(detail)})")
            value = quantize_input(value, detail)
        if value.dtype != want_dtype:
            hint = (" (float data is quantized only for an int8/uint8/int16 input with a scale)"
                    if value.dtype.kind == "f" else "")
            raise CommandError(f"{where} needs dtype {np.dtype(want_dtype)}, the file holds "
                               f"{value.dtype}{hint}")
        # Any size of the first (batch) dimension or of a dynamic (-1) one is resized to;
        # other dimensions are fixed by the model.
        if value.ndim != len(signature) or any(
                want not in (-1, got) for want, got in list(zip(signature, value.shape))[1:]):
            raise CommandError(f"{where} has shape {shape_text(signature)}, the file holds "
                               f"{shape_text(value.shape)} (only the first and dynamic (-1) "
                               "dimensions may differ)")
        arrays.append(value)
    return arrays


def _quant_text(detail: dict) -> str:
    params = detail["quantization_parameters"]
    if params["scales"].size == 1:
        return (f"scale {float(params['scales'][0]):.6g}, zero point "
                f"{int(params['zero_points'][0])}")
    return f"per-axis scales along dimension {params['quantized_dimension']}"


def random_inputs(interpreter, seed: int, batch: int | None) -> list:
    """One random array per model input, at its default shape (dynamic dims 1) with the first
    dimension set to ``batch``: normal floats, full-range 8/16-bit integers (quantized
    inputs), small non-negative wider integers (indices), random booleans."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = []
    for detail in interpreter.get_input_details():
        shape = [max(int(d), 1) for d in detail["shape_signature"]]
        if batch is not None and shape:
            shape[0] = batch
        dtype = np.dtype(detail["dtype"])
        if np.issubdtype(dtype, np.floating):
            value = rng.standard_normal(shape).astype(dtype)
        elif dtype == np.bool_:
            value = rng.integers(0, 2, shape).astype(bool)
        elif np.issubdtype(dtype, np.integer) and dtype.itemsize <= 2:
            info = np.iinfo(dtype)
            value = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
        elif np.issubdtype(dtype, np.integer):
            value = rng.integers(0, 10, shape).astype(dtype)
        else:
            raise CommandError(f"cannot make random values for input {detail['name']!r} of "
                               f"dtype {dtype}; give it with --input")
        arrays.append(value)
    return arrays


def _stats(value) -> list[str]:
    import numpy as np

    if value.size == 0:
        return ["-", "-", "-"]
    numbers = value.astype(np.float64) if value.dtype == np.bool_ else value
    return [f"{numbers.min():.6g}", f"{numbers.max():.6g}",
            f"{np.mean(numbers, dtype=np.float64):.6g}"]


def _save_npz(path: str, arrays: dict) -> None:
    """Write ``arrays`` as an .npz, atomically (nothing is left behind on failure).

    The archive is built with zipfile and NumPy's .npy writer, which is what np.savez does, so
    that an output tensor named like one of np.savez's own parameters ("file") still works.
    """
    import io
    import zipfile

    import numpy as np

    from ..io import atomic_write

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, value in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
    try:
        atomic_write(path, buffer.getvalue())
    except OSError as exc:
        raise CommandError(f"{path}: cannot write the file ({exc.strerror or exc})") from None
