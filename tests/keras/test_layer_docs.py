"""docs/keras-layers.md is the list of what the Keras frontend converts: every registered rule
is on it and nothing else is, and the error for a layer without a rule points to it, with the
nearest alternative for the layers people most often ask for."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest

from edgeport.errors import UnsupportedLayerError
from edgeport.graph import Graph, Tensor
from edgeport.ops import TensorSpec
from edgeport.frontends.keras.builder import LayerBuilder, Unsupported
from edgeport.frontends.keras.layers import RULES
from edgeport.frontends.keras.unsupported import LAYERS_PAGE, NEAREST
from edgeport.lite.converter import TFLiteConverter

PAGE = Path(__file__).parents[2] / LAYERS_PAGE


def _listed_layers() -> list[str]:
    """The backticked names in the first column of the page's tables."""
    names = []
    for line in PAGE.read_text().splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and not set(cells[1].strip()) <= set("-: "):
            names += re.findall(r"`([^`]+)`", cells[1])
    return names


def test_the_page_lists_every_rule_once_and_nothing_else():
    listed = _listed_layers()
    assert sorted(listed) == sorted(RULES), (set(listed) ^ set(RULES))


def test_alternatives_are_only_for_layers_without_a_rule():
    assert not set(NEAREST) & set(RULES)
    text = PAGE.read_text()
    assert "## Not converted yet" in text
    for name in ("ConvLSTM2D", "GroupQueryAttention", "Conv1DTranspose"):
        assert f"`{name}`" in text.split("## Not converted yet")[1], name


@pytest.mark.parametrize("layer, hint, shape", [
    (lambda: keras.layers.ConvLSTM1D(4, 3, name="seq"),
     "not converted yet .*LSTM, GRU, SimpleRNN and RNN of their cells convert", (6, 5, 4)),
    (lambda: keras.layers.Conv1DTranspose(2, 3, name="seq"),
     r"Conv2DTranspose with a \(k, 1\) kernel", (6, 4)),
    (lambda: keras.layers.GroupNormalization(groups=1, name="seq"), None, (6, 4)),
])
def test_no_rule_error_points_to_the_page(layer, hint, shape):
    inp = keras.Input(shape)
    model = keras.Model(inp, layer()(inp))
    with pytest.raises(UnsupportedLayerError) as error:
        TFLiteConverter.from_keras_model(model).convert()
    message = str(error.value)
    assert "layer 'seq'" in message and LAYERS_PAGE in message
    assert hint is None or re.search(hint, message)


def test_a_mask_is_refused_not_dropped():
    inp = keras.Input((5,), dtype="int32")
    x = keras.layers.Embedding(11, 4, mask_zero=True, name="embed")(inp)
    model = keras.Model(inp, keras.layers.GlobalAveragePooling1D()(x))  # pooling reads the mask
    with pytest.raises(UnsupportedLayerError, match=r"\(NotEqual\): .*Embedding with "
                                                    r"mask_zero=True; masks are not converted"):
        TFLiteConverter.from_keras_model(model).convert()
    # The rule refuses it too, for a file that records no mask operation.
    graph = Graph()
    graph.add_tensor(Tensor("ids", (-1, 5), np.int32))
    specs = {"ids": TensorSpec((1, 5), np.dtype(np.int32))}
    config = {"input_dim": 11, "output_dim": 4, "mask_zero": True}
    b = LayerBuilder(graph, specs, {"ids"}, "embed", "Embedding", config,
                     [np.zeros((11, 4), np.float32)], "model.keras")
    with pytest.raises(Unsupported, match="mask_zero=True"):
        RULES["Embedding"](b, b.config, ["ids"])
