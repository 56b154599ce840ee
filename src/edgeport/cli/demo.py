"""``edgeport demo``: the main job, end to end, on the built-in example model.

The chapter's story on a digits CNN that ships with edgeport: convert it to float, weights-only
int8, float16 and full-integer int8 .tflite, compare size, accuracy and latency, then export it
for the browser.
"""

from __future__ import annotations

from .common import make_console, subcommand


def add_parser(commands, common) -> None:
    """The ``demo`` subcommand, for edgeport.cli.build_parser."""
    demo = subcommand(commands, common, "demo", demo_command, __doc__,
                      help="the main job on the built-in example model")
    demo.add_argument("--output-dir", default="edgeport-demo", metavar="DIR",
                      help="where to write the models: a new or empty folder (default: "
                           "./edgeport-demo)")
    demo.add_argument("--overwrite", action="store_true",
                      help="replace the files of an earlier demo in DIR (nothing else)")


def demo_command(args) -> int:
    """Convert the shipped, trained digits CNN four ways and print the size / accuracy /
    latency table (edgeport.quantize.story), export it as a TF.js bundle with a demo page, and
    leave the test split next to the models so the suggested next commands run as they are.
    The folder must be new, empty, or an earlier demo's (replaced with --overwrite)."""
    from pathlib import Path

    from ..examples import digits_test_split, trained_digits_model_path
    from ..export.tfjs import export_web
    from ..io import atomic_write, check_folder
    from ..quantize.story import chapter_story

    out_dir = Path(args.output_dir)
    check_folder(out_dir, _is_demo_folder, kind="edgeport demo", overwrite=args.overwrite)
    console = make_console()
    console.rule("1. the chapter's three ways to quantize, on a trained digits CNN")
    chapter_story(out_dir, console=console)
    images, labels = digits_test_split()
    for name, array in (("digits_test_images.npy", images), ("digits_test_labels.npy", labels)):
        atomic_write(out_dir / name, _npy_bytes(array))
    console.rule("2. the same model for the browser (TF.js)")
    web = out_dir / "web"
    export_web(trained_digits_model_path(), web, labels=[str(digit) for digit in range(10)],
               overwrite=True)
    console.print(f"wrote a TF.js model and a demo page to {web}/")
    console.rule("next")
    float_model, int8_model = out_dir / "digits_float.tflite", out_dir / "digits_int8.tflite"
    data = (f"--data {out_dir / 'digits_test_images.npy'} "
            f"--labels {out_dir / 'digits_test_labels.npy'}")
    console.print(f"edgeport compare {float_model} {int8_model} {data}   # per-layer error\n"
                  f"edgeport inspect {int8_model}\n"
                  f"edgeport bench {int8_model} --profile\n"
                  f"edgeport serve {web}    # then open the printed address and draw a digit")
    return 0


def _is_demo_folder(folder) -> bool:
    """Whether ``folder`` holds what an earlier ``edgeport demo`` wrote, and nothing else."""
    import re

    from ..export.tfjs import is_bundle

    return all(re.fullmatch(r"digits_\w+\.(tflite|npy)", p.name) and p.is_file()
               or p.name == "web" and is_bundle(p) for p in folder.iterdir())


def _npy_bytes(array) -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
