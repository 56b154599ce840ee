"""The array files that commands read: ``run``'s and ``compare``'s .npy inputs, ``convert``'s
--calibration-data and ``qat``'s training archive. None of them is ever unpickled.

These are the command line's own input formats (the library takes arrays and dataset
callables), so they live here, each with the messages its command has always given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import QuantizationError
from .common import CommandError

if TYPE_CHECKING:
    import numpy as np


def load_npy(path: str):
    """The array in the .npy file ``path``; never unpickles (a .npy of objects is refused)."""
    import numpy as np

    try:
        with open(path, "rb") as f:
            magic = f.read(len(np.lib.format.MAGIC_PREFIX))
            if magic.startswith(b"PK"):
                raise CommandError(f"{path}: is an .npz archive; give one .npy file per input")
            if magic != np.lib.format.MAGIC_PREFIX:
                raise CommandError(f"{path}: not a .npy file (no .npy header; save arrays "
                                   "with numpy.save)")
            f.seek(0)
            return np.lib.format.read_array(f, allow_pickle=False)
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    except (ValueError, EOFError) as exc:
        raise CommandError(f"{path}: corrupt or unsupported .npy file ({exc})") from None


def npy_dataset(path: str, input_names: list[str] | None = None):
    """A representative_dataset over .npy data: each item one sample (batch 1) per input.

    ``path`` is one .npy file (one input: axis 0 indexes samples), or a folder of .npy files,
    one per model input: named after ``input_names`` when it holds them all, else taken in
    sorted file-name order."""
    arrays = _calibration_arrays(Path(path), input_names)
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


def _calibration_arrays(path: Path, input_names) -> list[np.ndarray]:
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise QuantizationError(f"{path}: no .npy files in the folder")
        if input_names and {f.stem for f in files} >= set(input_names):
            files = [path / f"{name}.npy" for name in input_names]
        return [_calibration_array(f) for f in files]
    return [_calibration_array(path)]


def _calibration_array(path: Path) -> np.ndarray:
    import numpy as np

    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise QuantizationError(f"{path}: cannot read calibration data ({exc})") from None
    if not isinstance(array, np.ndarray) or array.ndim == 0:
        raise QuantizationError(f"{path}: expected an array with samples along axis 0")
    return array


def load_npz(path: str, labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(x, y or None) from a .npz file; QuantizationError naming what is missing."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError) as exc:
        raise QuantizationError(f"{path}: cannot read training data ({exc})") from None
    if "x" not in arrays:
        raise QuantizationError(f"{path}: no array named 'x' (has {sorted(arrays)})")
    if labels and "y" not in arrays:
        raise QuantizationError(f"{path}: --labels needs an array named 'y' (has "
                                f"{sorted(arrays)})")
    return arrays["x"], arrays["y"] if labels else None
