"""The jax backend against the NumPy reference on keras.applications architectures (random
weights, realistic batch-norm statistics, small inputs), within 1e-4 of each output's scale."""

import keras
import numpy as np
import pytest

from edgeport.lite import TFLiteConverter
from tests.devices.helpers import Interpreter, run
from tests.keras.helpers import numpy_initializers, randomize_batch_norms

MODELS = {"MobileNetV2": dict(alpha=0.35), "ResNet50": {}}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_jax_matches_numpy_on_applications(name):
    keras.utils.set_random_seed(0)
    with numpy_initializers():
        model = getattr(keras.applications, name)(weights=None, classifier_activation=None,
                                                  input_shape=(32, 32, 3), **MODELS[name])
    randomize_batch_norms(model)
    content = TFLiteConverter.from_keras_model(model).convert()
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    (want,) = run(Interpreter(model_content=content), x)
    (got,) = run(Interpreter(model_content=content, backend="jax"), x)
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = float(np.abs(want).max())
    assert float(np.abs(got - want).max()) <= 1e-4 * scale
