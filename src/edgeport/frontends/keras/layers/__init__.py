"""Keras layer rules: one function per Keras layer class, registered with `keras_layer`.

A rule takes ``(b: LayerBuilder, cfg: Fields, inputs: list[str])`` (``cfg`` reads the
layer's serialized config with the types and ranges the rule needs, refusing what a damaged
file holds instead; ``inputs`` the tensor names of its call) and returns its output tensor
name(s), emitting TFLite ops (NHWC, TFLite weight layouts) through ``b``. Rules raise
``b.unsupported(reason)`` for options they cannot convert. Rules for keras.ops operations
(key ``"ops.<Class>"``, see `rule_key`) get their positional arguments in order, Python
numbers included. Modules in this package are
imported automatically, one per layer family.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

RULES: dict[str, Callable] = {}


def keras_layer(*class_names: str, inputs: int | None = 1):
    """Register a rule for one or more Keras layer classes (their ``class_name``) that take
    ``inputs`` tensors (None: one or more); the topology walk refuses calls with other
    counts, so a rule can unpack its inputs."""

    def decorate(fn):
        for name in class_names:
            if name in RULES:
                raise RuntimeError(f"Keras layer {name} has two rules")
            RULES[name] = fn
        fn.inputs = inputs
        return fn

    return decorate


OPERATION_PREFIX = "ops."


def rule_key(layer: dict) -> str:
    """The key a layer's rule is registered under: its class name, or ``"ops.<Class>"`` for
    the keras.ops operations a Functional model records when tensors are combined with Python
    operators (``x + 3.0`` is an ``Add`` from module ``keras.src.ops.numpy``, not the Add
    layer: its arguments include constants)."""
    from ..archive import is_operation

    cls = str(layer.get("class_name"))
    return OPERATION_PREFIX + cls if is_operation(layer) else cls


def get_rule(key: str) -> Callable | None:
    return RULES.get(key)


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["OPERATION_PREFIX", "RULES", "get_rule", "keras_layer", "rule_key"]
