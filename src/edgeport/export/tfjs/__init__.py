"""TF.js export: a folder that @tensorflow/tfjs 4.22 loads, with a demo page.

    edgeport.export.tfjs.export_web("model.keras", "web/")            # layers model (or graph)
    edgeport.export.tfjs.export_web("model.tflite", "web/", quantize="uint8")

Writes ``model.json`` (a layers model for Keras models whose layers TF.js has, else a graph
model), the weight shards ``group1-shardNofM.bin``, ``demo.json`` (what the page needs to know
about the inputs) and the demo page (``index.html``, ``demo.js``; ``tf.min.js`` too when a local
TF.js is given). Everything is written into a temporary folder next to ``out_dir`` and renamed
into place, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ...errors import UnsupportedLayerError
from ...graph import Graph
from .weights import DEFAULT_SHARD_SIZE, write_weights

FORMATS = ("auto", "layers", "graph")
DEMO_DIR = Path(__file__).with_name("demo")
TFJS_CDN = "https://cdn.jsdelivr.net/npm/@tensorflow/tfjs@4.22.0/dist/tf.min.js"


def export_web(model, out_dir: str | os.PathLike, format: str = "auto", quantize=None,
               shard_size: int = DEFAULT_SHARD_SIZE, tfjs_path: str | os.PathLike | None = None,
               labels: list[str] | None = None) -> dict:
    """Export ``model`` (a .keras/.h5/.tflite path, a live keras.Model, a KerasModel or an IR
    Graph) as a TF.js bundle in ``out_dir``; returns a summary dict (format, files, bytes).

    ``format``: "layers" (Keras models only; UnsupportedLayerError names the layers TF.js
    lacks), "graph", or "auto" (layers when possible, else graph). ``quantize``: None,
    "uint8"/"uint16"/"float16", or {dtype: fnmatch patterns}. ``tfjs_path``: a local tf.min.js
    copied next to the page so that it works offline (default: the jsDelivr CDN).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    model_json, weights, info = _convert(model, format)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        model_json["weightsManifest"] = write_weights(weights, tmp, shard_size, quantize)
        (tmp / "model.json").write_text(json.dumps(model_json, separators=(",", ":")))
        info["labels"] = list(labels) if labels else None
        info["tfjs"] = "tf.min.js" if tfjs_path else TFJS_CDN
        (tmp / "demo.json").write_text(json.dumps(info, indent=1))
        for asset in ("index.html", "demo.js"):
            shutil.copyfile(DEMO_DIR / asset, tmp / asset)
        if tfjs_path:
            shutil.copyfile(tfjs_path, tmp / "tf.min.js")
        os.chmod(tmp, 0o755)
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = sorted(p.name for p in out_dir.iterdir())
    return {"format": model_json["format"], "dir": str(out_dir), "files": files,
            "bytes": sum((out_dir / f).stat().st_size for f in files
                         if f.endswith(".bin") or f == "model.json")}


def _convert(model, format: str) -> tuple[dict, list, dict]:
    """(model.json without its manifest, weights, demo info) in the requested format."""
    from .graph_model import export_graph_model, graph_model_json

    graph = model if isinstance(model, Graph) else None
    keras_model = None
    if graph is None:
        if isinstance(model, (str, os.PathLike)) and _is_tflite(model):
            from ...frontends.tflite import read_tflite
            graph = read_tflite(model)
        else:
            keras_model = _keras_model(model)
    if keras_model is not None and format in ("auto", "layers"):
        from .layers_model import export_layers_model
        try:
            model_json, weights, info = export_layers_model(keras_model)
            return model_json, weights, info
        except UnsupportedLayerError:
            if format == "layers":
                raise
    if graph is None:
        if format == "layers":
            raise UnsupportedLayerError("a layers model needs a Keras model")
        from ...frontends.keras import load_keras
        from ...passes import optimize
        graph = optimize(load_keras(keras_model))
    elif format == "layers":
        raise UnsupportedLayerError(f"graph {graph.name!r}: a layers model needs a Keras model; "
                                    "use format='graph'")
    topology, weights, signature = export_graph_model(graph)
    info = {"format": "graph-model",
            "inputs": [_io_info(n, graph.tensors[n]) for n in graph.inputs],
            "outputs": [_io_info(n, graph.tensors[n]) for n in graph.outputs]}
    return graph_model_json(topology, [], signature), weights, info


def _io_info(name: str, tensor) -> dict:
    return {"name": name, "shape": [int(d) for d in tensor.shape], "dtype": str(tensor.dtype)}


def _is_tflite(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8)[4:8] == b"TFL3"
    except OSError:
        return str(path).endswith(".tflite")


def _keras_model(model):
    from ...frontends.keras import KerasModel, read_keras_file, read_live_model
    if isinstance(model, KerasModel):
        return model
    if isinstance(model, (str, os.PathLike)):
        return read_keras_file(model)
    return read_live_model(model)


def _replace_dir(tmp: Path, out_dir: Path) -> None:
    """Move the finished ``tmp`` to ``out_dir``; an existing ``out_dir`` is replaced whole."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a folder")
    old = None
    if out_dir.exists() and any(out_dir.iterdir()):
        old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
        os.replace(out_dir, old)
    os.replace(tmp, out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["DEFAULT_SHARD_SIZE", "FORMATS", "TFJS_CDN", "export_web"]
