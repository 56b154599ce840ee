"""Quantization-aware training: fine-tune a float model with fake quantization on the jax
backend so that its int8 export loses (almost) no accuracy.

    qat = edgeport.qat.prepare("model.keras", representative_dataset=x_train[:200])
    qat.fit(x_train, y_train, epochs=5)          # or fit(x_train): label-free distillation
    open("model_int8.tflite", "wb").write(qat.convert())

The fake quantization is planned on edgeport's own graph from the post-training quantizer's
rules (prepare.py), so the ranges learned in training are exactly those of the exported model.
"""

from .model import QATModel, prepare
from .prepare import load_float_graph

__all__ = ["QATModel", "load_float_graph", "prepare"]
