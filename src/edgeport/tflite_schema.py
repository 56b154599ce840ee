"""Facts of the .tflite schema shared by the reader and the writer: dtypes and op codes."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .ops.options import schema_module

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
CUSTOM_CODE = 32
PLACEHOLDER_FOR_GREATER_OP_CODES = 127

# TensorType -> numpy dtype, for the types edgeport reads and writes.
DTYPES = {
    "FLOAT32": np.float32, "FLOAT16": np.float16, "FLOAT64": np.float64,
    "INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "UINT16": np.uint16,
    "INT32": np.int32, "UINT32": np.uint32, "INT64": np.int64, "UINT64": np.uint64,
    "BOOL": np.bool_, "COMPLEX64": np.complex64,
}


@lru_cache(maxsize=None)
def tensor_type_names() -> dict[int, str]:
    enum = schema_module("TensorType").TensorType
    return {v: k for k, v in vars(enum).items() if not k.startswith("_")}


def dtype_of(type_code: int) -> np.dtype | None:
    """The numpy dtype of a TensorType code, or None if edgeport has no numpy equivalent."""
    dtype = DTYPES.get(tensor_type_names().get(type_code, ""))
    return None if dtype is None else np.dtype(dtype)


@lru_cache(maxsize=None)
def _type_codes() -> dict[np.dtype, int]:
    names = {v: k for k, v in tensor_type_names().items()}
    return {np.dtype(dtype): names[name] for name, dtype in DTYPES.items()}


def type_code_of(dtype) -> int:
    """The TensorType code of a numpy dtype."""
    return _type_codes()[np.dtype(dtype)]


@lru_cache(maxsize=None)
def builtin_op_names() -> dict[int, str]:
    enum = schema_module("BuiltinOperator").BuiltinOperator
    return {v: k for k, v in vars(enum).items() if not k.startswith("_")}


@lru_cache(maxsize=None)
def builtin_op_codes() -> dict[str, int]:
    return {v: k for k, v in builtin_op_names().items()}
