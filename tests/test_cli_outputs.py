"""What the commands write, tried as a new user would, through the real ``edgeport`` command in
a subprocess (umask 022, stderr piped): nothing the user owns is deleted or overwritten, files
get normal modes, missing folders are made, progress reads well in a log, and an int8 model
runs on float data."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgeport.examples import digits_calibration_images, digits_test_split
from edgeport.examples import trained_digits_model_path
from tests.oracles.litert import run_litert


def edgeport(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """``edgeport ARGS`` in ``cwd`` under umask 022, stdout and stderr piped."""
    environ = {**os.environ, **(env or {})}
    environ.pop("COLUMNS", None)
    command = Path(sys.executable).with_name("edgeport")  # the installed command itself
    return subprocess.run([command, *map(str, args)], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=300,
                          umask=0o022)


def refused(result, *words) -> str:
    """The one error line of a refused command (exit 1, no traceback), checked for ``words``."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeport: error: "), result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def scratch(tmp_path) -> Path:
    """A user's folder: their model and a file of their own."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    (folder / "model.keras").write_bytes(trained_digits_model_path().read_bytes())
    (folder / "notes.txt").write_text("mine")
    return folder


@pytest.mark.parametrize("where, out", [("parent", "scratch"), ("scratch", "."),
                                        ("scratch", "..")])
def test_export_web_never_deletes_the_folder_it_is_given(scratch, where, out):
    """The issue's three commands: the source's own folder, the current one, its parent."""
    before = snapshot(scratch.parent)
    cwd, model = ((scratch.parent, "scratch/model.keras") if where == "parent"
                  else (scratch, "model.keras"))
    refused(edgeport("export-web", model, "-o", out, cwd=cwd), "model.keras")
    assert snapshot(scratch.parent) == before


def test_export_web_refuses_a_users_folder_and_replaces_only_its_own_bundle(scratch):
    users = scratch / "site"
    users.mkdir()
    (users / "page.html").write_text("<p>mine</p>")
    refused(edgeport("export-web", "model.keras", "-o", "site", cwd=scratch),
            "not empty", "not an earlier TF.js bundle")
    assert (users / "page.html").read_text() == "<p>mine</p>"

    assert edgeport("export-web", "model.keras", "-o", "web", cwd=scratch).returncode == 0
    first = snapshot(scratch / "web")
    refused(edgeport("export-web", "model.keras", "-o", "web", cwd=scratch), "--overwrite")
    assert snapshot(scratch / "web") == first
    result = edgeport("export-web", "model.keras", "-o", "web", "--overwrite", "--quantize",
                      "uint8", cwd=scratch)
    assert result.returncode == 0, result.stderr
    assert snapshot(scratch / "web")["model.json"] != first["model.json"]
    # A file of the user's inside the bundle makes it the user's folder: never replaced.
    (scratch / "web" / "mine.txt").write_text("mine")
    refused(edgeport("export-web", "model.keras", "-o", "web", "--overwrite", cwd=scratch),
            "not an earlier")
    assert (scratch / "web" / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in scratch.iterdir()) == ["model.keras", "notes.txt", "site",
                                                         "web"]  # no temporary left behind


def test_a_failed_export_leaves_the_earlier_bundle(scratch):
    assert edgeport("export-web", "model.keras", "-o", "web", cwd=scratch).returncode == 0
    first = snapshot(scratch / "web")
    refused(edgeport("export-web", "model.keras", "-o", "web", "--overwrite", "--tfjs",
                     "missing.js", cwd=scratch), "missing.js")
    assert snapshot(scratch / "web") == first
    assert sorted(p.name for p in scratch.iterdir()) == ["model.keras", "notes.txt", "web"]


def test_written_files_follow_the_umask_and_missing_folders_are_made(scratch):
    data = scratch / "x.npy"
    np.save(data, digits_calibration_images()[:16])
    result = edgeport("convert", "model.keras", "-o", "new/sub/model_int8.tflite",
                      "--quantize", "int8", "--calibration-data", data, cwd=scratch)
    assert result.returncode == 0, result.stderr
    assert mode(scratch / "new" / "sub" / "model_int8.tflite") == 0o644
    assert mode(scratch / "new") == mode(scratch / "new" / "sub") == 0o755
    assert edgeport("run", "new/sub/model_int8.tflite", "--random", "--output",
                    "out/o.npz", cwd=scratch).returncode == 0
    assert mode(scratch / "out" / "o.npz") == 0o644
    assert edgeport("export-web", "model.keras", "-o", "web", cwd=scratch).returncode == 0
    assert mode(scratch / "web") == 0o755
    assert {mode(p) for p in (scratch / "web").iterdir()} == {0o644}
    # The file is not a folder: the one line names it, never a temporary file.
    line = refused(edgeport("convert", "model.keras", "-o", "notes.txt/out.tflite",
                            cwd=scratch), "notes.txt")
    assert ".tmp" not in line


def test_convert_and_run_never_overwrite_their_inputs_or_a_users_file(scratch):
    before = snapshot(scratch)
    refused(edgeport("convert", "model.keras", "-o", "model.keras", cwd=scratch),
            "also an input")
    refused(edgeport("convert", "model.keras", "-o", "notes.txt", cwd=scratch),
            "not a .tflite file")
    refused(edgeport("convert", "model.keras", "-o", ".", cwd=scratch), "is a folder")
    assert snapshot(scratch) == before
    assert edgeport("convert", "model.keras", "-o", "m.tflite", cwd=scratch).returncode == 0
    assert edgeport("convert", "model.keras", "-o", "m.tflite", "--quantize", "dynamic",
                    cwd=scratch).returncode == 0  # an earlier .tflite is replaced
    refused(edgeport("run", "m.tflite", "--random", "--output", "notes.txt", cwd=scratch),
            "not a .npz file")
    refused(edgeport("run", "m.tflite", "--random", "--output", "m.tflite", cwd=scratch),
            "also an input")
    assert (scratch / "notes.txt").read_text() == "mine"


def test_demo_writes_a_new_folder_and_replaces_only_its_own(tmp_path):
    result = edgeport("demo", "--output-dir", "d", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "edgeport interpreter (NumPy) ms" in result.stdout and "LiteRT ms" in result.stdout
    refused(edgeport("demo", "--output-dir", "d", cwd=tmp_path), "--overwrite")
    (tmp_path / "d" / "mine.txt").write_text("mine")
    refused(edgeport("demo", "--output-dir", "d", "--overwrite", cwd=tmp_path),
            "not an earlier edgeport demo")
    (tmp_path / "d" / "mine.txt").unlink()
    assert edgeport("demo", "--output-dir", "d", "--overwrite", cwd=tmp_path).returncode == 0


def calibrated_int8(folder: Path, *extra, name: str = "int8.tflite"):
    """``edgeport convert`` of the example to full int8, calibrated on 32 images."""
    data = folder / "calibration.npy"
    np.save(data, digits_calibration_images()[:32])
    result = edgeport("convert", trained_digits_model_path(), "-o", folder / name,
                      "--quantize", "int8", "--calibration-data", data, *extra, cwd=folder)
    assert result.returncode == 0, result.stderr
    return result


def test_progress_in_a_log_is_one_summary_line(tmp_path):
    result = calibrated_int8(tmp_path)
    assert "\r" not in result.stderr
    assert result.stderr.splitlines() == ["calibrating: 32 samples in " +
                                          result.stderr.split(" in ")[1].strip()]
    assert calibrated_int8(tmp_path, "--no-progress").stderr == ""
    quiet = edgeport("bench", tmp_path / "int8.tflite", "--runs", "3", cwd=tmp_path,
                     env={"EDGEPORT_PROGRESS": "0"})
    assert quiet.returncode == 0 and quiet.stderr == ""
    logged = edgeport("bench", tmp_path / "int8.tflite", "--runs", "3", "--warmup", "1",
                      cwd=tmp_path)
    assert logged.stderr.startswith("bench: 4 runs in ") and "\r" not in logged.stderr


def test_run_quantizes_float_input_and_dequantizes_outputs(tmp_path):
    """An int8-I/O model run on float data gives, to the bit, what LiteRT's reference kernels
    give for the same model with float I/O (its own QUANTIZE and DEQUANTIZE ops at the ends)."""
    calibrated_int8(tmp_path, "--io-type", "int8")
    calibrated_int8(tmp_path, name="float_io.tflite")
    images, _ = digits_test_split()
    np.save(tmp_path / "x.npy", images[:5])
    result = edgeport("run", "int8.tflite", "--input", "x.npy", "--dequantize", "--output",
                      "o.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "quantized from float32 to int8" in result.stdout
    assert "dequantized from int8" in result.stdout
    with np.load(tmp_path / "o.npz") as got:
        (name,) = got.files
        (want,) = run_litert((tmp_path / "float_io.tflite").read_bytes(), [images[:5]])
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], want)
    # Integers of another type are not guessed at: the error stays, and names the file.
    np.save(tmp_path / "u.npy", images[:5].astype(np.int32))
    refused(edgeport("run", "int8.tflite", "--input", "u.npy", cwd=tmp_path), "u.npy", "int8")


def test_serve_names_a_busy_port(tmp_path):
    import socket

    (tmp_path / "web").mkdir()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused(edgeport("serve", "web", "--port", port, cwd=tmp_path), f"127.0.0.1:{port}",
                "--port")
