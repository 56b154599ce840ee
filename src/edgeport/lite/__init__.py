"""`edgeport.lite` mirrors `tf.lite`: convert models to .tflite and run them."""

from .converter import Optimize, OpsSet, TargetSpec, TFLiteConverter
from .interpreter import Interpreter, SignatureRunner, register_custom_op

__all__ = ["Interpreter", "Optimize", "OpsSet", "SignatureRunner", "TargetSpec",
           "TFLiteConverter", "register_custom_op"]
