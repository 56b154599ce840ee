"""Writing what the user asked for, and never losing what the user already had.

- `atomic_write`: one file, through a temporary file and a rename, so a failure leaves the old
  file or nothing (never half a file). Missing parent folders are created, as tflite_convert
  does; the file gets the mode ``open()`` would give it (the umask's, or the old file's).
- `check_output_file`: before a command writes a file, refuse an output that is one of its own
  inputs, a folder, or an existing file of another kind than the command writes (so ``-o``
  replaces an earlier .tflite, but never the .keras model or a user's notes).
- `check_folder` / `write_folder`: a folder of outputs (a TF.js bundle, the demo's models),
  built in a temporary sibling and renamed into place. A non-empty folder that is not an
  earlier output of the same kind is refused; such an earlier output is replaced only when
  asked (``overwrite=True``); the current folder, and one that holds one of the command's
  inputs, are refused.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import OutputError


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    Parent folders are created. An OSError names ``path`` (or the folder that cannot be
    made), never the temporary file.
    """
    path = Path(path)
    folder = path.parent
    _make_folder(folder, path)
    mode = _new_file_mode(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# What each kind of file edgeport writes starts with: an existing file is replaced only when
# it is of the kind the command writes (an earlier output, most likely).
FILE_KINDS: dict[str, Callable[[bytes], bool]] = {
    ".tflite": lambda head: head[4:8] == b"TFL3",
    ".npz": lambda head: head[:4] == b"PK\x03\x04",
    ".png": lambda head: head[:8] == b"\x89PNG\r\n\x1a\n",
}


def check_output_file(path: str | os.PathLike, kind: str, inputs: Iterable = ()) -> None:
    """Refuse to write ``path`` when that would destroy something the user owns: one of the
    command's ``inputs``, a folder, or an existing file that is not a ``kind`` file (a key of
    FILE_KINDS: what the command writes, e.g. an earlier .tflite)."""
    path = Path(path)
    for source in inputs:
        if _same_file(path, source):
            raise OutputError(f"{path}: is also an input of this command ({source}); "
                              "write the output to another file")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give the {kind} file to write")
    if path.exists():
        try:
            with open(path, "rb") as f:
                head = f.read(16)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from None
        if head and not FILE_KINDS[kind](head):  # an empty file holds nothing to lose
            raise OutputError(f"{path}: exists and is not a {kind} file; edgeport does not "
                              "overwrite it (remove it or choose another name)")


def check_folder(out_dir: str | os.PathLike, is_ours: Callable[[Path], bool], *, kind: str,
                 overwrite: bool = False, inputs: Iterable = ()) -> Path:
    """Refuse an output folder that `write_folder` must not replace (see there), before any
    work is done; returns it, resolved."""
    out_dir = Path(out_dir).resolve()
    for source in inputs:
        if _inside(Path(source), out_dir):
            raise OutputError(f"{out_dir}: holds {source}, an input of this command; write the "
                              f"{kind} to another folder")
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not is_ours(out_dir):
            raise OutputError(f"{out_dir}: is not empty and is not an earlier {kind}; edgeport "
                              "writes only into a new or empty folder (choose another)")
        if not overwrite:
            raise OutputError(f"{out_dir}: holds an earlier {kind}; --overwrite replaces it")
    cwd = Path.cwd()
    if out_dir == cwd or out_dir in cwd.parents:
        raise OutputError(f"{out_dir}: is the current folder (or holds it); write the {kind} "
                          "to a subfolder")
    return out_dir


def write_folder(out_dir: str | os.PathLike, fill: Callable[[Path], None], *,
                 is_ours: Callable[[Path], bool], kind: str, overwrite: bool = False,
                 inputs: Iterable = ()) -> Path:
    """Create the folder ``out_dir`` with the files ``fill(tmp)`` writes into ``tmp``.

    ``out_dir`` may be missing or empty. An existing, non-empty one is replaced only when
    ``is_ours(out_dir)`` says it is an earlier output of this kind (a ``kind``) and
    ``overwrite`` is set; anything else is refused with an OutputError, as are the current
    folder and an ``out_dir`` that holds one of ``inputs``. The new folder is complete before
    it appears: ``fill`` writes into a temporary sibling, which is renamed into place, so a
    failure leaves the earlier folder (or nothing). Returns the folder, resolved.
    """
    out_dir = check_folder(out_dir, is_ours, kind=kind, overwrite=overwrite, inputs=inputs)
    _make_folder(out_dir.parent, out_dir)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp",
                                    dir=out_dir.parent))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, os.fspath(out_dir)) from None
    try:
        os.chmod(tmp, 0o777 & ~_umask())
        fill(tmp)
        _swap_in(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _swap_in(tmp: Path, out_dir: Path) -> None:
    """Rename ``tmp`` to ``out_dir``; an existing ``out_dir`` (empty, or an earlier output
    that `write_folder` was allowed to replace) is moved aside first and removed last."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old",
                                    dir=out_dir.parent))
        os.replace(out_dir, old / out_dir.name)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old / out_dir.name, out_dir)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _make_folder(folder: Path, output: Path) -> None:
    """Make ``folder`` and its parents for ``output``; an OSError names both."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file stands where a folder must be
        raise NotADirectoryError(errno.ENOTDIR, f"cannot make the folder {folder} (a file of "
                                 "that name is in the way)", os.fspath(output)) from None
    except OSError as exc:
        raise OSError(exc.errno, f"cannot make the folder {folder} ({exc.strerror})",
                      os.fspath(output)) from None


def _same_file(a: Path, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    path = path.resolve()
    return path == folder or folder in path.parents


def _new_file_mode(path: Path) -> int:
    """The mode ``open(path, "w")`` leaves: an existing file's own, else 0666 less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere it is read by setting it,
    which is not thread-safe, so only as a fallback."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
