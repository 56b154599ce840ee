# How tests/data/official_digits_*.tflite were made (2026-11-26): TensorFlow 2.21.0 and Keras
# 3.15.1 in a throwaway venv (never a dependency of edgeport), from the digits CNN that ships
# with edgeport. Kept for reference; the tests only read the files it wrote.
import keras
import numpy as np
import tensorflow as tf

model = keras.models.load_model("src/edgeport/examples/digits_cnn.keras", compile=False)
data = np.load("src/edgeport/examples/digits_split.npz")
images = data["x_calibration"].astype(np.float32)
calibration = (images / images.max())[..., None][:100]


def representative_dataset():
    for image in calibration:
        yield [image[None]]


def convert(name, **target):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    for key, value in target.items():
        setattr(converter, key, value) if key != "target_spec" else value(converter.target_spec)
    with open(f"tests/data/official_digits_{name}.tflite", "wb") as f:
        f.write(converter.convert())


def int8_only(spec):
    spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]


def float16_weights(spec):
    spec.supported_types = [tf.float16]


convert("int8", representative_dataset=representative_dataset, target_spec=int8_only,
        inference_input_type=tf.int8, inference_output_type=tf.int8)
convert("dynamic")
convert("float16", target_spec=float16_weights)
print(tf.__version__, keras.__version__)
