"""Op definitions: one module per op or small family, each registering with `register_op`.

Importing this package imports every module in it, so a new op file registers itself without
being listed anywhere else.
"""

import importlib
import pkgutil

from .registry import OPS, OpDef, TensorSpec, get_op, missing_ops, register_op

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("registry", "options", "common"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["OPS", "OpDef", "TensorSpec", "get_op", "missing_ops", "register_op"]
