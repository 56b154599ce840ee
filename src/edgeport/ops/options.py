"""Declarations of .tflite builtin options, and the generic code that reads and writes them.

An op declares ``Options("Conv2DOptions", padding=Padding, stride_w=Int, ...)``: the table name
and its fields in snake_case, as in tensorflow/lite/schema/schema.fbs. Reading and writing then
go through the flatc-generated accessors of the `tflite` package by naming convention
(``StrideW()``, ``Conv2DOptionsAddStrideW``), so no op needs reader or writer code of its own.
Enum fields are kept as their schema names (``"SAME"``, ``"RELU6"``) so that attrs read well.
"""

from __future__ import annotations

import importlib
from functools import cached_property

import numpy as np


def camel(snake: str) -> str:
    """``dilation_w_factor`` -> ``DilationWFactor``, the generated accessor's name."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def schema_module(name: str):
    """A module of the flatc-generated schema package, imported on first use."""
    return importlib.import_module(f"tflite.{name}")


class Field:
    """How one options field maps between the flatbuffer and an attrs value."""

    def read(self, table, name: str):
        return getattr(table, camel(name))()

    def to_file(self, value):
        return value

    def build_vector(self, builder, value):
        """Vectors must be built before their table starts; scalars need nothing."""
        return None


class Scalar(Field):
    def __init__(self, kind):
        self.kind = kind

    def read(self, table, name):
        return self.kind(super().read(table, name))

    def to_file(self, value):
        return self.kind(value)


Int = Scalar(int)
Float = Scalar(float)
Bool = Scalar(bool)


class Enum(Field):
    """A schema enum, kept as its member name."""

    def __init__(self, enum_name: str):
        self.enum_name = enum_name

    @cached_property
    def by_value(self) -> dict[int, str]:
        enum = getattr(schema_module(self.enum_name), self.enum_name)
        return {v: k for k, v in vars(enum).items() if not k.startswith("_")}

    @cached_property
    def by_name(self) -> dict[str, int]:
        return {k: v for v, k in self.by_value.items()}

    def read(self, table, name):
        value = super().read(table, name)
        return self.by_value.get(value, str(value))

    def to_file(self, value):
        return self.by_name[value]


Padding = Enum("Padding")
Activation = Enum("ActivationFunctionType")
TensorTypeName = Enum("TensorType")


class IntVector(Field):
    """A ``[int]`` field, kept as a tuple of ints."""

    def read(self, table, name):
        if getattr(table, camel(name) + "IsNone")():
            return ()
        return tuple(int(v) for v in getattr(table, camel(name) + "AsNumpy")())

    def build_vector(self, builder, value):
        return builder.CreateNumpyVector(np.asarray(value, dtype=np.int32))


IntList = IntVector()


class Options:
    """The builtin options table of one op: its schema name and its fields."""

    def __init__(self, table: str, **fields: Field):
        self.table = table
        self.fields = fields

    @cached_property
    def union_type(self) -> int:
        """The BuiltinOptions union tag of this table."""
        union = schema_module("BuiltinOptions").BuiltinOptions
        return getattr(union, self.table)

    @cached_property
    def defaults(self) -> dict:
        """Every field's schema default, read back from an empty table."""
        import flatbuffers

        module = schema_module(self.table)
        builder = flatbuffers.Builder(64)
        getattr(module, f"{self.table}Start")(builder)
        builder.Finish(getattr(module, f"{self.table}End")(builder))
        table = getattr(module, self.table).GetRootAs(builder.Output(), 0)
        return {name: field.read(table, name) for name, field in self.fields.items()}

    def read(self, union_table) -> dict:
        """attrs from the op's BuiltinOptions union value (None: all defaults)."""
        if union_table is None:
            return dict(self.defaults)
        table = getattr(schema_module(self.table), self.table)()
        table.Init(union_table.Bytes, union_table.Pos)
        return {name: field.read(table, name) for name, field in self.fields.items()}

    def write(self, builder, attrs: dict) -> int:
        """Build this table from attrs (missing fields take their defaults); returns its offset."""
        module = schema_module(self.table)
        values = {name: attrs.get(name, self.defaults[name]) for name in self.fields}
        vectors = {name: field.build_vector(builder, values[name])
                   for name, field in self.fields.items()}
        getattr(module, f"{self.table}Start")(builder)
        for name, field in self.fields.items():
            add = getattr(module, f"{self.table}Add{camel(name)}")
            add(builder, vectors[name] if vectors[name] is not None else field.to_file(values[name]))
        return getattr(module, f"{self.table}End")(builder)
