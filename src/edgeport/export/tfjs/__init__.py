"""TF.js export: a folder that @tensorflow/tfjs 4.22 loads, with a demo page.

    edgeport.export.tfjs.export_web("model.keras", "web/")            # layers model (or graph)
    edgeport.export.tfjs.export_web("model.tflite", "web/", quantize="uint8")

Writes ``model.json`` (a layers model for Keras models whose layers TF.js has, else a graph
model), the weight shards ``group1-shardNofM.bin``, ``demo.json`` (what the page needs to know
about the inputs) and the demo page (``index.html``, ``demo.js``; ``tf.min.js`` too when a local
TF.js is given). A quantized .tflite (int8, dynamic-range or float16) becomes a float32 graph
model, since TF.js has no integer kernels: its weights are dequantized, and the summary's
``note`` (also in demo.json, shown on the page) says what that changes.

Everything is written into a temporary folder next to ``out_dir`` and renamed into place, so a
failed export leaves nothing behind (or the earlier bundle). Nothing the user wrote is ever
replaced: the folder must be new, empty, or an earlier bundle (with ``overwrite``), and must
not hold the source model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from ... import __version__
from ...errors import UnsupportedLayerError
from ...frontends import load, model_format
from ...graph import Graph
from ...io import check_folder, write_folder
from .weights import DEFAULT_SHARD_SIZE, write_weights

FORMATS = ("auto", "layers", "graph")
DEMO_DIR = Path(__file__).with_name("demo")
DEMO_ASSETS = ("index.html", "demo.js")
BUNDLE = "TF.js bundle"
GENERATOR = f"edgeport {__version__}"
# The files a bundle holds: what `export_web` writes, and nothing else.
BUNDLE_FILE = re.compile(r"model\.json|demo\.json|index\.html|demo\.js|tf\.min\.js|"
                         r"group\d+-shard\d+of\d+\.bin")
TFJS_CDN = "https://cdn.jsdelivr.net/npm/@tensorflow/tfjs@4.22.0/dist/tf.min.js"


def export_web(model, out_dir: str | os.PathLike, format: str = "auto", quantize=None,
               shard_size: int = DEFAULT_SHARD_SIZE, tfjs_path: str | os.PathLike | None = None,
               labels: list[str] | None = None, overwrite: bool = False) -> dict:
    """Export ``model`` (a .keras/.h5/.tflite path, a live keras.Model, a KerasModel or an IR
    Graph) as a TF.js bundle in ``out_dir``; returns a summary dict (format, files, bytes).

    ``format``: "layers" (Keras models only; UnsupportedLayerError names the layers TF.js
    lacks), "graph", or "auto" (layers when possible, else graph). ``quantize``: None,
    "uint8"/"uint16"/"float16", or {dtype: fnmatch patterns}. ``tfjs_path``: a local tf.min.js
    copied next to the page so that it works offline (default: the jsDelivr CDN).
    ``out_dir`` must be new or empty; an earlier bundle there is replaced only with
    ``overwrite=True``, and any other folder is refused (edgeport.io.write_folder).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    inputs = [p for p in (model, tfjs_path) if isinstance(p, (str, os.PathLike))]
    check_folder(out_dir, is_bundle, kind=BUNDLE, overwrite=overwrite, inputs=inputs)
    model_json, weights, info = _convert(model, format)
    info["labels"] = list(labels) if labels else None
    info["tfjs"] = "tf.min.js" if tfjs_path else TFJS_CDN
    info["generator"] = GENERATOR

    def fill(folder: Path) -> None:
        model_json["weightsManifest"] = write_weights(weights, folder, shard_size, quantize)
        (folder / "model.json").write_text(json.dumps(model_json, separators=(",", ":")))
        (folder / "demo.json").write_text(json.dumps(info, indent=1))
        for asset in DEMO_ASSETS:
            shutil.copyfile(DEMO_DIR / asset, folder / asset)
        if tfjs_path:
            shutil.copyfile(tfjs_path, folder / "tf.min.js")

    out_dir = write_folder(out_dir, fill, is_ours=is_bundle, kind=BUNDLE, overwrite=overwrite,
                           inputs=inputs)
    files = sorted(p.name for p in out_dir.iterdir())
    return {"format": model_json["format"], "dir": str(out_dir), "files": files,
            "bytes": sum((out_dir / f).stat().st_size for f in files
                         if f.endswith(".bin") or f == "model.json"),
            "note": info.get("note")}


def is_bundle(folder: Path) -> bool:
    """Whether ``folder`` holds an earlier bundle of edgeport's and nothing else: its
    demo.json says edgeport wrote it and every file is one that a bundle holds."""
    try:
        info = json.loads((folder / "demo.json").read_text())
        names = [p.name for p in folder.iterdir()]
    except (OSError, ValueError):
        return False
    return (isinstance(info, dict) and str(info.get("generator", "")).startswith("edgeport")
            and all(BUNDLE_FILE.fullmatch(name) for name in names))


def _convert(model, format: str) -> tuple[dict, list, dict]:
    """(model.json without its manifest, weights, demo info) in the requested format."""
    from ...errors import UnsupportedOpError
    from .graph_model import export_graph_model, graph_model_json

    graph = model if isinstance(model, Graph) else None
    keras_model = None
    if graph is None:
        if isinstance(model, (str, os.PathLike)) and model_format(model) == "tflite":
            graph = load(model)
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
    where = (os.fspath(model) if isinstance(model, (str, os.PathLike))
             else f"graph {graph.name!r}")
    try:
        graph, note = _float_graph(graph, where)
        topology, weights, signature = export_graph_model(graph)
    except UnsupportedOpError as exc:
        raise UnsupportedOpError(f"{where}: {exc}") from None
    info = {"format": "graph-model",
            "inputs": [_io_info(n, graph.tensors[n]) for n in graph.inputs],
            "outputs": [_io_info(n, graph.tensors[n]) for n in graph.outputs]}
    if note:
        info["note"] = note
    return graph_model_json(topology, [], signature), weights, info


def _float_graph(graph: Graph, where: str) -> tuple[Graph, str | None]:
    """``graph`` as TF.js computes it, in float32 (dequantized, on a copy, when it has
    quantized or float16 tensors), and the note telling the user what that changes (None for
    a float graph)."""
    import copy

    from ...passes.dequantize import dequantize_graph

    note = _dequantization_note(graph, where)
    return (graph, None) if note is None else (dequantize_graph(copy.deepcopy(graph)), note)


def _dequantization_note(graph: Graph, where: str) -> str | None:
    """What computing ``graph`` in float32 changes: results (integer activations), the
    inputs' and outputs' types, the weights' size; None when nothing."""
    from ...passes.dequantize import is_quantized

    tensors = graph.tensors.values()
    activations = sorted({t.dtype.name for t in tensors if is_quantized(t) and not t.is_constant})
    weights = sorted({t.dtype.name for t in tensors if t.is_constant and (
        t.dtype.name == "float16" or is_quantized(t) and t.dtype.itemsize <= 2)})
    if activations:
        note = (f"{where} computes in {'/'.join(activations)}, which TF.js cannot: the bundle "
                "computes in float32 with the weights dequantized, so its results are close "
                "to the quantized model's, not bit-exact")
        changed = [f"{kind} {name!r}" for kind, names in (("input", graph.inputs),
                                                          ("output", graph.outputs))
                   for name in names if is_quantized(graph.tensors[name])]
        if changed:
            note += (f"; {' and '.join(changed)} {'is' if len(changed) == 1 else 'are'} "
                     "float32 now (real values, not integers)")
    elif weights:
        note = f"{where} stores {'/'.join(weights)} weights: the bundle holds them as float32"
    else:
        return None
    smaller = "float16" if weights == ["float16"] else "uint8"
    return f"{note}; export with --quantize {smaller} for weights as small as the quantized model's"


def _io_info(name: str, tensor) -> dict:
    return {"name": name, "shape": [int(d) for d in tensor.shape], "dtype": str(tensor.dtype)}


def _keras_model(model):
    from ...frontends.keras import KerasModel, read_keras_file, read_live_model
    if isinstance(model, KerasModel):
        return model
    if isinstance(model, (str, os.PathLike)):
        return read_keras_file(model)
    return read_live_model(model)


__all__ = ["DEFAULT_SHARD_SIZE", "FORMATS", "TFJS_CDN", "export_web"]
