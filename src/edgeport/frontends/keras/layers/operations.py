"""keras.ops operations recorded in Functional models: what ``x + 3.0`` or ``x * (1 / 6)``
on a Keras tensor becomes (MobileNetV3's hard-sigmoid), and ``keras.ops.sin(x)`` and the other
elementwise functions. Their arguments are tensors or Python
numbers; numbers become float32 constants (Keras casts them to the tensor's float dtype)."""

from __future__ import annotations

from . import OPERATION_PREFIX, keras_layer

BINARY = {"Add": "ADD", "Subtract": "SUB", "Multiply": "MUL", "Divide": "DIV",
          "TrueDivide": "DIV", "Maximum": "MAXIMUM", "Minimum": "MINIMUM"}


@keras_layer(*(OPERATION_PREFIX + name for name in BINARY), inputs=2)
def binary(b, cfg, inputs):
    operands = [b.const(float(v), suffix="scalar") if not isinstance(v, str) else v
                for v in inputs]
    return b.op(BINARY[b.class_name], operands)


UNARY = {"Sin": "SIN", "Exp": "EXP", "Log": "LOG", "Sqrt": "SQRT", "Tanh": "TANH"}


@keras_layer(*(OPERATION_PREFIX + name for name in UNARY))
def unary(b, cfg, inputs):
    return b.op(UNARY[b.class_name], inputs)
