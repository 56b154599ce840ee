"""Common-subexpression elimination: the same op on the same tensors is computed once."""

from __future__ import annotations

import keras

from edgeport.frontends.keras import load_keras
from edgeport.passes import optimize
from tests.keras.helpers import check_model
from tests.keras.test_models import rand

layers = keras.layers


def test_repeated_branches_are_merged(tmp_path):
    """NASNet's pattern: one tensor through the same ReLU and pooling in several branches."""
    inp = keras.Input((6, 6, 4))
    x = layers.Conv2D(4, 1)(inp)
    a = layers.AveragePooling2D(3, 1, padding="same")(layers.Activation("relu")(x))
    b = layers.AveragePooling2D(3, 1, padding="same")(layers.Activation("relu")(x))
    c = layers.MaxPooling2D(3, 1, padding="same")(layers.Activation("relu")(x))
    out = layers.Concatenate()([layers.Add()([a, b]), c])
    model = keras.Model(inp, [out, layers.Activation("relu")(x)])
    check_model(model, [rand(2, 6, 6, 4)], tmp_path, formats=("live",))
    graph = optimize(load_keras(model))
    types = [op.type for op in graph.ops]
    # one ReLU (the graph output's, a separate op) is kept besides the merged one
    assert types.count("AVERAGE_POOL_2D") == 1 and types.count("RELU") == 2, types
    assert len(graph.outputs) == 2
