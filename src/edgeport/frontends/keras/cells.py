"""``keras.layers.RNN(cell)`` as the layer of its cell: RNN(LSTMCell(...)) computes what
LSTM(...) with the same options computes, from the same weights (LSTM is RNN over an LSTMCell in
Keras 3). The converter and the TF.js exporter both read an RNN of a built-in cell in that form."""

from __future__ import annotations

CELLS = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}
RNN_OPTIONS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")


def cell_name(rnn_config: dict) -> str | None:
    """The class of an RNN layer's cell (None when there is none)."""
    cell = rnn_config.get("cell")
    return cell.get("class_name") if isinstance(cell, dict) else None


def layer_of_cell(rnn_config: dict) -> dict | None:
    """An RNN layer's config as its cell's own layer, ``{"class_name", "config"}`` (the cell's
    options, the RNN's options and name), or None when the cell is no built-in single cell."""
    cell = rnn_config.get("cell")
    name = cell_name(rnn_config)
    if name not in CELLS or not str(cell.get("module") or "keras").startswith("keras"):
        return None
    options = {key: rnn_config[key] for key in (*RNN_OPTIONS, "name") if key in rnn_config}
    return {"class_name": CELLS[name], "config": {**cell.get("config", {}), **options}}
