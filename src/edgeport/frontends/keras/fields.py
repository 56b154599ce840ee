"""Read a Keras config's fields as the values they must be, or refuse, naming the field.

A model config is data from a file: any field may hold any JSON value (``"filters": "x"``,
``"strides": -1``, ``"kernel_size": null``). Every field the topology walk and the layer rules
read goes through a `Fields` reader, which returns a value of the expected type and range or
raises ModelFormatError naming the file, the layer, the field, what it holds and what it
should hold. Shapes built from config values are checked by `frontends.builder.check_size`
before anything of that size is allocated.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import ModelFormatError

REQUIRED = object()  # the default of a field that must be present
STORED = object()  # Fields.error's value when the message shows what the field holds
DAMAGED = "the model file is damaged or was not written by Keras"


def field_error(where: str, field: str, value, expected: str) -> ModelFormatError:
    """The one message for a config value that is not what Keras writes there."""
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ModelFormatError(f"{where}: config field {field!r} is {shown}, expected {expected} "
                            f"({DAMAGED})")


def is_int(value) -> bool:
    """A JSON integer (booleans are ints to Python, not to a Keras config)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite JSON number."""
    return (is_int(value) or isinstance(value, float)) and math.isfinite(value)


class Fields:
    """Typed reads of one config dict. ``where`` starts every message (file and layer);
    ``prefix`` names the dict inside the layer's config (``dtype.``) for nested reads.
    A field that is absent or null takes its default; without one it is required."""

    def __init__(self, config, where: str, prefix: str = ""):
        if not isinstance(config, dict):
            raise field_error(where, prefix.rstrip(".") or "config", config, "an object")
        self.config, self.where, self.prefix = config, where, prefix

    def error(self, key: str, expected: str, value=STORED) -> ModelFormatError:
        """The error for field ``key``, holding ``value`` (by default the stored one)."""
        value = self.config.get(key) if value is STORED else value
        return field_error(self.where, self.prefix + key, value, expected)

    def has(self, key: str) -> bool:
        return self.config.get(key) is not None

    def get(self, key: str, default=None):
        """The raw value, for fields whose every JSON form has a meaning (an activation)."""
        value = self.config.get(key)
        return default if value is None else value

    def _stored(self, key, default, expected):
        """The stored value; ``default`` when absent or null (ModelFormatError if REQUIRED)."""
        value = self.config.get(key)
        if value is not None:
            return value
        if default is REQUIRED:
            raise field_error(self.where, self.prefix + key, value, expected)
        return default

    def _scalar(self, key, default, expected, valid):
        """The stored value if ``valid(value)``, else the error; an absent field's default
        (which may be None: an optional field) is returned as it is."""
        if not self.has(key):
            return self._stored(key, default, expected)
        value = self.config[key]
        if not valid(value):
            raise self.error(key, expected)
        return value

    def int(self, key: str, default=REQUIRED, minimum: int | None = None,
            maximum: int | None = None) -> int:
        return self._scalar(key, default, _int_words(minimum, maximum),
                            lambda v: _int_in(v, minimum, maximum))

    def float(self, key: str, default=REQUIRED) -> float | None:
        value = self._scalar(key, default, "a finite number", is_number)
        return value if value is None else float(value)

    def bool(self, key: str, default: bool) -> bool:
        return self._scalar(key, default, "true or false", lambda v: isinstance(v, bool))

    def text(self, key: str, default=REQUIRED) -> str:
        return self._scalar(key, default, "a string", lambda v: isinstance(v, str))

    def ints(self, key: str, count: int, default=REQUIRED, minimum: int | None = 1
             ) -> tuple[int, ...]:
        """``count`` ints from an int (repeated) or a list of ``count`` (or one) ints, as
        Keras accepts for kernel_size, strides, dilation_rate and pool_size."""
        expected = f"{_int_words(minimum, None)} or a list of {count}"
        value = self._stored(key, default, expected)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(values) not in (1, count) or not all(_int_in(v, minimum, None) for v in values):
            raise self.error(key, expected, value)
        return tuple(values * count if len(values) == 1 else values)

    def shape(self, key: str, default=REQUIRED, free=None) -> list:
        """A list of positive ints, ``free`` standing for a dimension not fixed (None in an
        Input's batch_shape, -1 in Reshape's target_shape)."""
        expected = f"a list of positive integers or {'null' if free is None else free}"
        value = self._stored(key, default, expected)
        if not isinstance(value, list) or not all(
                (v is None if free is None else is_int(v) and v == free) or _int_in(v, 1, None)
                for v in value):
            raise self.error(key, expected, value)
        return value

    def axes(self, key: str, rank: int, default=REQUIRED) -> list[int]:
        """An axis or a list of axes of a rank-``rank`` tensor, made non-negative."""
        expected = f"an axis or a list of axes of a rank-{rank} tensor"
        value = self._stored(key, default, expected)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not all(_int_in(v, -rank, rank - 1) for v in values):
            raise self.error(key, expected, value)
        return [v % rank for v in values]

    def numbers(self, key: str, default=REQUIRED) -> np.ndarray:
        """A number or a (nested) list of numbers, as float64 (Rescaling's scale)."""
        value = self._stored(key, default, "a number or a list of numbers")
        if not _all_numbers(value):
            raise self.error(key, "a number or a list of finite numbers", value)
        try:
            return np.asarray(value, np.float64)
        except ValueError:  # ragged lists
            raise self.error(key, "a number or a rectangular list of numbers", value) from None

    def child(self, key: str) -> "Fields":
        """The dict in field ``key`` (empty when absent), read with the same vocabulary."""
        return Fields(self.get(key, {}), self.where, f"{self.prefix}{key}.")


def _int_in(value, minimum, maximum) -> bool:
    return (is_int(value) and (minimum is None or value >= minimum)
            and (maximum is None or value <= maximum))


def _int_words(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"an integer from {minimum} to {maximum}"
    if minimum is not None:
        return f"an integer >= {minimum}"
    return "an integer" if maximum is None else f"an integer <= {maximum}"


def _all_numbers(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_all_numbers(v) for v in value)
    return is_number(value)


__all__ = ["DAMAGED", "Fields", "REQUIRED", "field_error", "is_int", "is_number"]
