"""The export-web command functions (wired into edgeport.cli by the lead)."""

import argparse
import json

from edgeport.examples import digits_cnn
from edgeport.export.tflite import save_tflite
from edgeport.cli.export_web import add_parser as add_parsers, parse_quantize


def parser():
    p = argparse.ArgumentParser()
    add_parsers(p.add_subparsers(), argparse.ArgumentParser(add_help=False))
    return p


def test_parse_quantize():
    assert parse_quantize(None) is None
    assert parse_quantize(["uint8=conv*,dense/*", "float16"]) == {
        "uint8": "conv*,dense/*", "float16": None}


def test_export_web_command(tmp_path, capsys):
    model = tmp_path / "m.tflite"
    save_tflite(digits_cnn(), model)
    (tmp_path / "labels.txt").write_text("\n".join("zero one two three four five six seven "
                                                   "eight nine".split()))
    args = parser().parse_args(["export-web", str(model), "-o", str(tmp_path / "web"),
                                "--quantize", "uint8=*/kernel", "--shard-size", "500",
                                "--labels", str(tmp_path / "labels.txt")])
    assert args.command(args) == 0
    assert "graph-model" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "web" / "model.json").read_text())["weightsManifest"][0]
    quantized = {w["name"] for w in manifest["weights"] if "quantization" in w}
    assert quantized and all(n.endswith("/kernel") for n in quantized)
    assert len(manifest["paths"]) > 1
    assert json.loads((tmp_path / "web" / "demo.json").read_text())["labels"][3] == "three"
