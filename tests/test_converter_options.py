"""tf.lite.TFLiteConverter code runs with ``import edgeport as tf``: the book's dtype names, and
every option edgeport accepts is honoured (anything else is refused, never ignored)."""

from __future__ import annotations

import numpy as np
import pytest

import edgeport as tf
from edgeport.errors import ModelFormatError, UnsupportedOpError, UnsupportedOptionError
from edgeport.examples import digits_calibration_images, trained_digits_model_path
from edgeport.frontends.tflite import read_tflite
from tests.corpus import custom_op_graph
from tests.oracles.litert import run_litert


def test_the_books_float16_snippet():
    converter = tf.lite.TFLiteConverter.from_keras_file(trained_digits_model_path())
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    tflite_model = converter.convert()
    graph = read_tflite(tflite_model)
    weights = [t for t in graph.tensors.values() if t.data is not None and t.data.ndim > 1]
    assert weights and {t.dtype for t in weights} == {np.dtype(np.float16)}
    (out,) = run_litert(tflite_model, [digits_calibration_images()[:4]])
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)


def test_the_books_int8_snippet():
    images = digits_calibration_images()

    def representative_data_gen():
        for image in images[:50]:
            yield [image[None]]

    converter = tf.lite.TFLiteConverter.from_keras_file(trained_digits_model_path())
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_data_gen
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.uint8
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    assert interpreter.get_input_details()[0]["dtype"] == tf.int8
    assert interpreter.get_output_details()[0]["dtype"] == tf.uint8


def test_dtype_names_are_numpy_dtypes():
    for name in ("float16", "float32", "int8", "uint8", "int16", "int32", "bool"):
        assert getattr(tf, name) == np.dtype(name)
        assert np.zeros(2, getattr(tf, name)).dtype == np.dtype(name)
    with pytest.raises(AttributeError):
        tf.float8


@pytest.mark.parametrize("source", ["from_saved_model", "from_concrete_functions"])
def test_tensorflow_sources_say_they_need_tensorflow(source):
    with pytest.raises(ModelFormatError, match="needs TensorFlow.*\\.keras"):
        getattr(tf.lite.TFLiteConverter, source)("saved_model_dir")


def converter():
    return tf.lite.TFLiteConverter.from_keras_file(trained_digits_model_path())


def test_16x8_is_refused_until_it_is_implemented():
    c = converter()
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = lambda: ([x[None]] for x in digits_calibration_images()[:4])
    c.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    with pytest.raises(UnsupportedOptionError, match="digits_cnn.keras: 16-bit activations"):
        c.convert()


@pytest.mark.parametrize("setting, match", [
    (lambda c: setattr(c, "optimizations", [tf.lite.Optimize.EXPERIMENTAL_SPARSITY]),
     "EXPERIMENTAL_SPARSITY"),
    (lambda c: setattr(c, "experimental_new_converter", False), "experimental_new_converter"),
    (lambda c: setattr(c, "experimental_new_quantizer", False), "experimental_new_quantizer"),
    (lambda c: setattr(c.target_spec, "supported_types", [tf.int16]), "int16"),
    (lambda c: setattr(c.target_spec, "experimental_select_user_tf_ops", ["MyOp"]),
     "builtin ops only"),
])
def test_options_edgeport_does_not_honour_are_refused(setting, match):
    c = converter()
    setting(c)
    with pytest.raises(UnsupportedOptionError, match=match):
        c.convert()


def test_an_unknown_option_is_refused_where_it_is_set():
    c = converter()
    c.experimental_new_converter = True  # tf's default: what edgeport does anyway
    with pytest.raises(UnsupportedOptionError, match="no option 'inference_typ'.*"
                                                     "inference_input_type"):
        c.inference_typ = tf.int8
    with pytest.raises(UnsupportedOptionError, match="TargetSpec has no option"):
        c.target_spec.supported_backends = ["GPU"]


def test_custom_ops_need_allow_custom_ops(tmp_path):
    from edgeport.export.tflite import save_tflite

    path = tmp_path / "custom.tflite"
    save_tflite(custom_op_graph(), path)
    c = tf.lite.TFLiteConverter.from_tflite(path)
    with pytest.raises(UnsupportedOpError, match="custom.tflite.*allow_custom_ops"):
        c.convert()
    c.allow_custom_ops = True
    ops = [op.type for op in read_tflite(c.convert()).ops]
    assert any(t.startswith("CUSTOM:") for t in ops)
