"""Valid JSON with wrong values: a Keras model whose config fields or .h5 attributes hold what
Keras never writes there (0, -1, 10**9, 1.5, "x", null, [], {}, true, NaN) is refused with an
EdgeportError naming the file, or it converts and the .tflite runs: never another exception, a
hang or an allocation sized by the damaged value.

400 seeded mutations of the built-in digits CNN: fields of its .keras archive's config.json,
and of the same model saved as .h5, fields of its model_config attribute and the attributes of
its weight groups. Each is converted with TFLiteConverter.from_keras_file and, when it
converts, run with edgeport.lite.Interpreter (150 .keras cases are also exported to TF.js), under the time budget and memory ceiling of the
.tflite robustness test (tests/test_tflite_robustness.py), whose helpers this file uses.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from edgeport.errors import EdgeportError
from edgeport.examples import trained_digits_model_path
from edgeport.lite import TFLiteConverter
from tests.test_tflite_robustness import (MEMORY_HEADROOM, guarded, load_and_run,
                                          memory_ceiling, time_budget)

VALUES = (0, -1, 10**9, 1.5, "x", None, [], {}, True, math.nan)
N_KERAS, N_H5_CONFIG, N_H5_ATTRIBUTES = 260, 80, 60
N_TFJS = 150  # of the .keras cases, exported with export_web
CASE_SECONDS = 10  # converting and running the digits CNN takes about 20 ms


# -- mutations --------------------------------------------------------------------------------
def fields(value, path=()) -> list[tuple]:
    """The path of every field below ``value``: each object member and list element."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found = []
    for key, child in items:
        found.append((*path, key))
        found += fields(child, (*path, key))
    return found


def with_field(config, path: tuple, value):
    """A copy of ``config`` with the field at ``path`` set to ``value``."""
    config = copy.deepcopy(config)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = copy.deepcopy(value)
    return config


def mutated_config(config, paths, rng) -> tuple[str, str]:
    """The JSON text of ``config`` with one random field set to one of VALUES, and a label."""
    path, value = paths[rng.integers(len(paths))], VALUES[rng.integers(len(VALUES))]
    label = "/".join(map(str, path)) + f" = {value!r}"
    return json.dumps(with_field(config, path, value)), label


def h5_value(value):
    """``value`` as an HDF5 attribute can hold it: HDF5 has no null and no mapping, so null is
    an empty attribute and {} its JSON text."""
    if value is None:
        return h5py.Empty("f4")
    if value == {}:
        return "{}"
    return np.zeros(0) if value == [] else value


def mutate_attribute(h5: h5py.File, rng) -> str:
    """Set one attribute of a weight group (weight_names, layer_names...), or one element of
    it, to one of VALUES; returns a label."""
    places = [h5["model_weights"], *h5["model_weights"].values()]
    places = [(group, name) for group in places for name in group.attrs]
    group, name = places[rng.integers(len(places))]
    value = VALUES[rng.integers(len(VALUES))]
    stored = group.attrs[name]
    if isinstance(stored, np.ndarray) and stored.size and rng.random() < 0.5:
        index = int(rng.integers(stored.size))
        stored = stored.astype(object)  # a list of names, as h5py reads it
        stored[index] = str(value)
        group.attrs[name] = stored
        return f"{group.name}.attrs[{name!r}][{index}] = {str(value)!r}"
    group.attrs[name] = h5_value(value)
    return f"{group.name}.attrs[{name!r}] = {value!r}"


# -- the digits CNN, as .keras and as .h5 -----------------------------------------------------
@pytest.fixture(scope="module")
def digits_h5(tmp_path_factory) -> Path:
    """The digits CNN saved by Keras as a legacy .h5 file."""
    import keras

    path = tmp_path_factory.mktemp("digits") / "digits.h5"
    keras.saving.load_model(trained_digits_model_path(), compile=False).save(path)
    return path


def keras_cases(directory: Path, rng):
    """(path, label) of .keras archives with one config.json field mutated."""
    with zipfile.ZipFile(trained_digits_model_path()) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    paths = fields(config)
    for case in range(N_KERAS):
        text, label = mutated_config(config, paths, rng)
        path = directory / f"case{case}.keras"
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in {**members, "config.json": text.encode()}.items():
                archive.writestr(name, data)
        yield path, f"config.json: {label}"


def h5_cases(original: Path, directory: Path, rng):
    """(path, label) of .h5 files with a model_config field or a weight attribute mutated."""
    with h5py.File(original, "r") as h5:
        config = json.loads(h5.attrs["model_config"])
    paths = fields(config)
    for case in range(N_H5_CONFIG + N_H5_ATTRIBUTES):
        path = directory / f"case{case}.h5"
        path.write_bytes(original.read_bytes())
        with h5py.File(path, "r+") as h5:
            if case < N_H5_CONFIG:
                text, label = mutated_config(config, paths, rng)
                h5.attrs["model_config"] = text
                label = f"model_config: {label}"
            else:
                label = mutate_attribute(h5, rng)
        yield path, label


# -- the cases --------------------------------------------------------------------------------
def convert_and_run(path: Path) -> str:
    """'refused' (an EdgeportError naming ``path``) or 'ran'; anything else raises. A model
    that converts must run: edgeport wrote it."""
    try:
        tflite = TFLiteConverter.from_keras_file(path).convert()
    except EdgeportError as exc:
        if str(path) not in str(exc):
            raise AssertionError(f"the message does not name the file: {exc}") from exc
        return "refused"
    load_and_run(tflite)
    return "ran"


def test_mutated_configs_are_refused_cleanly_or_run(tmp_path, digits_h5):
    rng = np.random.default_rng(20250612)
    cases = [*keras_cases(tmp_path, rng), *h5_cases(digits_h5, tmp_path, rng)]
    failures, outcomes = [], {"ran": 0, "refused": 0}
    with memory_ceiling(MEMORY_HEADROOM):
        for path, label in cases:
            outcome = guarded(lambda: convert_and_run(path), f"{path.name} ({label})", failures)
            if outcome is not None:
                outcomes[outcome] += 1
    assert len(cases) == N_KERAS + N_H5_CONFIG + N_H5_ATTRIBUTES
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + \
        "\n".join(failures[:25])
    # Both outcomes must really happen, or the mutations are not testing what they claim.
    assert outcomes["ran"] > 50 and outcomes["refused"] > 50, outcomes


def test_mutated_configs_export_to_tfjs_or_are_refused_cleanly(tmp_path):
    """The TF.js exporter reads the config too (for a layers model): the same contract."""
    from edgeport.export.tfjs import export_web

    rng = np.random.default_rng(20251202)
    failures = []
    for path, label in itertools.islice(keras_cases(tmp_path, rng), N_TFJS):
        try:
            with time_budget(CASE_SECONDS):
                export_web(path, tmp_path / f"{path.stem}-web")
        except EdgeportError as exc:
            if str(path) not in str(exc):
                failures.append(f"{path.name} ({label}): the message does not name the file: "
                                f"{exc}")
        except Exception as exc:  # noqa: BLE001 - the point is to catch anything
            failures.append(f"{path.name} ({label}): {type(exc).__name__}: {exc}")
    assert not failures, "\n".join(failures[:25])


def test_a_mutation_sets_the_field_its_label_names():
    config = {"a": [1, {"b": 2}], "c": None}
    assert fields(config) == [("a",), ("a", 0), ("a", 1), ("a", 1, "b"), ("c",)]
    rng = np.random.default_rng(3)
    for _ in range(20):
        text, label = mutated_config(config, [("a", 1, "b")], rng)
        value = json.loads(text)["a"][1]["b"]
        assert label == f"a/1/b = {value!r}" or label == "a/1/b = nan" and math.isnan(value)
        assert json.loads(text)["a"][0] == 1 and config["a"][1]["b"] == 2
