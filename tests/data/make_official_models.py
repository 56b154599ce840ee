# How tests/data/official_digits_*.tflite were made (2026-11-26): TensorFlow 2.21.0 and Keras
# 3.15.1 in a throwaway venv (never a dependency of edgeport), from the digits CNN that ships
# with edgeport. Kept for reference; the tests only read the files it wrote.
import keras
import numpy as np
import tensorflow as tf


m = keras.models.load_model("src/edgeport/examples/digits_cnn.keras", compile=False)
data = np.load("src/edgeport/examples/digits_split.npz")
cal = (data["x_calibration"].astype(np.float32) / data["x_calibration"].max())[..., None][:100]
def rep():
    for x in cal: yield [x[None]]
c = tf.lite.TFLiteConverter.from_keras_model(m); c.optimizations=[tf.lite.Optimize.DEFAULT]; c.representative_dataset=rep
c.target_spec.supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8]; c.inference_input_type=tf.int8; c.inference_output_type=tf.int8
open("tests/data/official_digits_int8.tflite","wb").write(c.convert())
c = tf.lite.TFLiteConverter.from_keras_model(m); c.optimizations=[tf.lite.Optimize.DEFAULT]
open("tests/data/official_digits_dynamic.tflite","wb").write(c.convert())
c = tf.lite.TFLiteConverter.from_keras_model(m); c.optimizations=[tf.lite.Optimize.DEFAULT]; c.target_spec.supported_types=[tf.float16]
open("tests/data/official_digits_float16.tflite","wb").write(c.convert())
print(tf.__version__, keras.__version__)
