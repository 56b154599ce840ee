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


def convert(name, configure=None):
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if configure is not None:
        configure(converter)
    with open(f"tests/data/official_digits_{name}.tflite", "wb") as f:
        f.write(converter.convert())


def full_integer(converter):
    converter.representative_dataset = representative_dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8


def float16_weights(converter):
    converter.target_spec.supported_types = [tf.float16]


convert("int8", full_integer)
convert("dynamic")
convert("float16", float16_weights)
print(tf.__version__, keras.__version__)
