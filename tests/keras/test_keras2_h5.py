"""A .h5 file as Keras 2 (tf.keras) writes it: nested-list inbound_nodes, batch_input_shape,
weight names with ':0', a nested model's weights in its own group. Written here with h5py,
since Keras 2 is not installed; expected outputs computed with NumPy."""

from __future__ import annotations

import json

import h5py
import numpy as np

from edgeport.lite.converter import TFLiteConverter
from tests.oracles.litert import run_litert


def test_keras2_functional_h5(tmp_path):
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(
        np.float32)
    gamma, beta, mean = (rng.normal(size=3).astype(np.float32) for _ in range(3))
    var = rng.uniform(0.5, 2, 3).astype(np.float32)
    inner_kernel = rng.normal(size=(3, 2)).astype(np.float32)
    inner = {"class_name": "Sequential", "config": {"name": "head", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3],
                                                "name": "head_in"}},
        {"class_name": "Dense", "config": {"name": "proj", "units": 2, "use_bias": False,
                                           "activation": "linear"}}]},
        "name": "head", "inbound_nodes": [[["add", 0, 0, {}]]]}
    config = {"class_name": "Model", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "input_1"}},
        {"class_name": "Dense", "name": "dense", "inbound_nodes": [[["input_1", 0, 0, {}]]],
         "config": {"name": "dense", "units": 3, "activation": "relu", "use_bias": True}},
        {"class_name": "BatchNormalization", "name": "bn", "inbound_nodes": [[["dense", 0, 0,
                                                                                 {}]]],
         "config": {"name": "bn", "axis": [1], "epsilon": 0.001, "center": True,
                    "scale": True}},
        {"class_name": "Add", "name": "add", "config": {"name": "add"},
         "inbound_nodes": [[["bn", 0, 0, {}], ["dense", 0, 0, {}]]]},
        inner],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["head", 0, 0]]}}
    path = tmp_path / "keras2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.15.0"
        weights = f.create_group("model_weights")
        weights.attrs["layer_names"] = [b"input_1", b"dense", b"bn", b"add", b"head"]
        for layer, named in {"input_1": {}, "add": {},
                             "dense": {"dense/kernel:0": kernel, "dense/bias:0": bias},
                             "bn": {"bn/gamma:0": gamma, "bn/beta:0": beta,
                                    "bn/moving_mean:0": mean, "bn/moving_variance:0": var},
                             "head": {"proj/kernel:0": inner_kernel}}.items():
            group = weights.create_group(layer)
            group.attrs["weight_names"] = [n.encode() for n in named]
            for name, value in named.items():
                group[name] = value
    x = rng.normal(size=(5, 4)).astype(np.float32)
    hidden = np.maximum(x @ kernel + bias, 0)
    normed = (hidden - mean) / np.sqrt(var + 1e-3) * gamma + beta
    want = (normed + hidden) @ inner_kernel
    got = run_litert(TFLiteConverter.from_keras_file(path).convert(), [x])[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
