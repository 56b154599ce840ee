"""Our op counts on keras.applications models are no larger than the official converter's
(recorded in official_op_counts.json, with where and how they were measured)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import keras
import pytest

from edgeport.frontends.keras import load_keras
from edgeport.passes import optimize
from tests.keras.helpers import numpy_initializers

OFFICIAL = json.loads((Path(__file__).parent / "official_op_counts.json").read_text())["models"]


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_op_count_no_larger_than_official(name):
    with numpy_initializers():
        model = getattr(keras.applications, name)(weights=None, classifier_activation=None,
                                                  input_shape=(224, 224, 3))
    ops = Counter(op.type for op in optimize(load_keras(model)).ops)
    official = OFFICIAL[name]
    assert sum(ops.values()) <= official["ops"], (dict(ops), official["by_type"])
