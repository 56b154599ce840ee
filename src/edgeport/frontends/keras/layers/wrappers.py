"""Wrapper layers: Bidirectional, TimeDistributed and RNN(cell), which apply another layer's rule.

The wrapped layer is converted by its own rule, through a builder of its own (its config, its
share of the wrapper's weights, its name under the wrapper's), so every option it honours or
refuses stays what it is unwrapped.
- Bidirectional runs the layer forward and, as a second copy with ``go_backwards`` set (or the
  ``backward_layer`` given), backward; the backward sequence is put back in time order
  (REVERSE_V2), as Keras does, and the two are merged (``merge_mode``).
- TimeDistributed folds the time steps into the batch (RESHAPE to [batch * time, ...]), applies
  the layer, and unfolds them (RESHAPE to [batch, time, ...]).
- RNN(cell) with a built-in cell is the cell's own layer (LSTMCell: LSTM, GRUCell: GRU,
  SimpleRNNCell: SimpleRNN) with the RNN's options: the same weights, the same computation.
"""

from __future__ import annotations

import numpy as np

from ..cells import CELLS, cell_name, layer_of_cell
from . import get_rule, keras_layer

MERGE_MODES = ("concat", "sum", "mul", "ave", None)
RECURRENT = ("LSTM", "GRU", "SimpleRNN", "RNN")


@keras_layer("Bidirectional", inputs=None)
def bidirectional(b, cfg, inputs):
    # null is a mode of its own here (two outputs), not the default
    merge_mode = cfg.config.get("merge_mode", "concat")
    if merge_mode not in MERGE_MODES:
        raise cfg.error("merge_mode", "one of 'concat', 'sum', 'mul', 'ave' or None")
    forward_config = _wrapped(b, cfg, "layer")
    if forward_config["class_name"] not in RECURRENT:
        raise b.unsupported(f"wraps a {forward_config['class_name']}; Bidirectional converts "
                            f"{', '.join(RECURRENT[:-1])} and {RECURRENT[-1]}")
    if cfg.get("backward_layer") is not None:
        backward_config = _wrapped(b, cfg, "backward_layer")
    else:
        backward_config = {**forward_config, "config": {
            **forward_config["config"],
            "go_backwards": not forward_config["config"].get("go_backwards", False)}}
    if len(inputs) > 1:
        raise b.unsupported("initial states given to a Bidirectional layer are not supported")
    stored = b.stored_weights()
    half = _weight_count(forward_config)
    outputs = []
    for direction, config, weights in (("forward", forward_config, stored[:half]),
                                       ("backward", backward_config, stored[half:])):
        sub = b.wrapped(direction, config, weights)
        result = get_rule(config["class_name"])(sub, sub.config, [inputs[0]])
        outputs.append(list(result) if isinstance(result, (list, tuple)) else [result])
    (y_forward, *states_forward), (y_backward, *states_backward) = outputs
    if backward_config["config"].get("return_sequences", False):
        y_backward = b.op("REVERSE_V2", [y_backward, b.const([1], np.int32, "axis")])
    merged = _merge(b, merge_mode, y_forward, y_backward)
    return [*merged, *states_forward, *states_backward]


def _merge(b, mode, forward: str, backward: str) -> list[str]:
    if mode is None:
        return [forward, backward]
    if mode == "concat":
        return [b.op("CONCATENATION", [forward, backward], {"axis": b.rank(forward) - 1})]
    if mode == "mul":
        return [b.op("MUL", [forward, backward])]
    total = b.op("ADD", [forward, backward])
    return [total if mode == "sum" else b.op("MUL", [total, b.const(0.5)])]


def _weight_count(layer_config) -> int:
    """How many arrays the forward layer holds (the backward one holds the rest)."""
    config = layer_config["config"]
    if layer_config["class_name"] == "RNN":
        config = (config.get("cell") or {}).get("config", {})
    return 3 if config.get("use_bias", True) else 2


@keras_layer("TimeDistributed")
def time_distributed(b, cfg, inputs):
    x = inputs[0]
    shape = b.shape(x)
    if len(shape) < 3:
        raise b.unsupported(f"takes a sequence [batch, time, ...], the model gives it shape "
                            f"{list(shape)}")
    steps = shape[1]
    config = _wrapped(b, cfg, "layer")
    folded = b.op("RESHAPE", [x, b.const([-1, *shape[2:]], np.int32, "shape")],
                  {"new_shape": (-1, *shape[2:])}, suffix="fold_time")
    sub = b.wrapped("layer", config, b.stored_weights())
    result = get_rule(config["class_name"])(sub, sub.config, [folded])
    if isinstance(result, (list, tuple)):
        raise b.unsupported(f"wraps a {config['class_name']} with several outputs")
    target = [-1, steps, *b.shape(result)[1:]]
    return b.op("RESHAPE", [result, b.const(target, np.int32, "shape")],
                {"new_shape": tuple(target)}, suffix="unfold_time")


@keras_layer("RNN", inputs=None)
def rnn(b, cfg, inputs):
    """RNN(cell): inputs are the sequence and, optionally, the cell's initial states."""
    name = cell_name(cfg.config)
    if name == "StackedRNNCells":
        raise b.unsupported("its cell is a list of cells (StackedRNNCells); stack RNN layers "
                            "instead (one RNN per cell, return_sequences=True but the last)")
    layer = layer_of_cell(cfg.config)
    if layer is None:
        raise b.unsupported(f"its cell is a {name or 'custom cell'}, which edgeport cannot "
                            f"convert; RNN converts {', '.join(CELLS)} (or use the LSTM, GRU "
                            "or SimpleRNN layer)")
    sub = b.wrapped("cell", layer, b.stored_weights())
    return get_rule(layer["class_name"])(sub, sub.config, inputs)


def _wrapped(b, cfg, key: str) -> dict:
    """The wrapped layer's config (``{"class_name", "config"}``), refused where edgeport has
    no rule for it or it is no built-in Keras layer."""
    child = cfg.child(key)
    layer = {"class_name": child.text("class_name"), "config": cfg.get(key).get("config", {}),
             "module": cfg.get(key).get("module")}
    module = layer["module"]
    if get_rule(layer["class_name"]) is None or (module is not None
                                                 and not str(module).startswith("keras")):
        raise b.unsupported(f"wraps a {layer['class_name']}, which edgeport cannot convert")
    return layer
