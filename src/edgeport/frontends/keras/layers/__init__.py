"""Keras layer rules: one function per Keras layer class, registered with `keras_layer`.

A rule takes ``(b: LayerBuilder, cfg: dict, inputs: list[str])`` (``cfg`` is the layer's
serialized config, ``inputs`` the tensor names of its call) and returns its output tensor
name(s), emitting TFLite ops (NHWC, TFLite weight layouts) through ``b``. Rules raise
``b.unsupported(reason)`` for options they cannot convert. Modules in this package are
imported automatically, one per layer family.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

RULES: dict[str, Callable] = {}


def keras_layer(*class_names: str):
    """Register a rule for one or more Keras layer classes (their ``class_name``)."""

    def decorate(fn):
        for name in class_names:
            if name in RULES:
                raise RuntimeError(f"Keras layer {name} has two rules")
            RULES[name] = fn
        return fn

    return decorate


def get_rule(class_name: str) -> Callable | None:
    return RULES.get(class_name)


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["RULES", "get_rule", "keras_layer"]
