"""Train the built-in example model: a small CNN on scikit-learn's digits (development only).

    KERAS_BACKEND=jax python bench/train_digits.py [--epochs N] [--out-dir DIR]

Writes, into src/edgeport/examples/ (shipped inside the package, see pyproject's package-data):
- ``digits_cnn.keras``: the trained Keras 3 model (8x8x1 float image in [0, 1], 10 softmax
  probabilities out); under 300 KB.
- ``digits_split.npz``: the held-out test split (``x_test`` uint8 pixel values 0..16 as
  scikit-learn gives them, ``y_test`` labels) and 200 training images (``x_calibration``) for
  the representative dataset of full-integer quantization. Pixels stay uint8 to keep the file
  small; ``edgeport.examples.digits_test_split()`` scales them to the model's float input.

Keras and scikit-learn are needed here only: edgeport itself reads the .keras file without
Keras. Seeded, so a rerun on the same versions writes the same model.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 0
TEST_FRACTION = 0.25
CALIBRATION_SAMPLES = 200


def split():
    """(x_train, y_train, x_test, y_test): uint8 8x8 images, stratified, seeded."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.uint8)  # integer pixel values 0..16
    return train_test_split(images, digits.target.astype(np.uint8), test_size=TEST_FRACTION,
                            stratify=digits.target, random_state=SEED)


def as_input(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..16 -> the model's float32 [N, 8, 8, 1] input in [0, 1]."""
    return (images.astype(np.float32) / 16.0)[..., None]


def build_model():
    """Conv-BN-ReLU x3 with two max-pools, then a small dense head: ~23k parameters."""
    import keras
    from keras import layers

    def block(x, filters, name):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    inputs = keras.Input((8, 8, 1), name="image")
    x = block(inputs, 16, "block1")
    x = block(x, 32, "block2")
    x = layers.MaxPooling2D(name="pool2")(x)
    x = block(x, 32, "block3")
    x = layers.MaxPooling2D(name="pool3")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(64, activation="relu", name="dense")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--out-dir", default=str(ROOT / "src/edgeport/examples"))
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    keras.utils.set_random_seed(SEED)
    x_train, x_test, y_train, y_test = split()
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(as_input(x_train), y_train, batch_size=32, epochs=args.epochs, verbose=0,
              validation_split=0.1)
    _, accuracy = model.evaluate(as_input(x_test), y_test, verbose=0)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # An uncompiled copy: the .keras file then holds no optimizer state (Adam's two moments
    # would triple its size) and nothing edgeport does not read.
    shipped = build_model()
    shipped.set_weights(model.get_weights())
    shipped.save(out / "digits_cnn.keras")
    rng = np.random.default_rng(SEED)
    calibration = x_train[rng.choice(len(x_train), CALIBRATION_SAMPLES, replace=False)]
    np.savez_compressed(out / "digits_split.npz", x_test=x_test, y_test=y_test,
                        x_calibration=calibration)
    sizes = {p.name: p.stat().st_size for p in (out / "digits_cnn.keras",
                                                  out / "digits_split.npz")}
    print(f"test accuracy {accuracy:.4f} on {len(y_test)} images; {model.count_params():,} "
          f"parameters; " + ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in sizes.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
