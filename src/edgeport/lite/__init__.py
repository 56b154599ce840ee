"""`edgeport.lite` mirrors `tf.lite`: run and (in later releases) convert .tflite models."""

from .interpreter import Interpreter, SignatureRunner, register_custom_op

__all__ = ["Interpreter", "SignatureRunner", "register_custom_op"]
