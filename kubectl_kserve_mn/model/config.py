"""Typed, validated reading of a model's ``config.json`` (and its quantization files): the model
package's side of the input boundary (issue 9).

Every numeric field the model package reads goes through :class:`ConfigReader`, which checks the type
(an integer is not a bool, a string or a list), that the value is finite and whole, and that it lies in a
range a real model can have. A bad value is refused with :class:`~kubectl_kserve_mn.inputs.BadInput`
(exit 2), worded ``source: object: field.path: value problem``, e.g.::

    models/bad/config.json: model bad: num_key_value_heads: 0 must be at least 1

so no negative, zero or astronomically large figure ever reaches the memory estimate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubectl_kserve_mn.inputs import BadInput, describe_value
from kubectl_kserve_mn.inputs.problems import PathSegment

# Upper bounds: far above any published model (the largest today: ~200 layers, hidden 16-25k, vocab
# ~260k, 384 experts, 10M context), far below what would make the arithmetic or the output absurd.
MAX_LAYERS = 4096
MAX_HIDDEN = 1 << 20
MAX_HEADS = 1 << 16
MAX_HEAD_DIM = 1 << 14
MAX_INTERMEDIATE = 1 << 24
MAX_VOCAB = 1 << 26
MAX_EXPERTS = 1 << 16
MAX_CONTEXT = 1 << 31
MAX_WINDOW = 1 << 31
MAX_BYTES = 1 << 60  # a safetensors total_size: an exabyte


@dataclass(frozen=True)
class ConfigReader:
    """Validated access to one JSON object (``config.json``, a nested ``text_config``, a
    ``quantization_config``). ``layers`` are looked up in order, each with its path prefix, so a
    multimodal wrapper's ``text_config`` values win over the top level and errors name where the
    value was read (``text_config.num_hidden_layers``)."""

    layers: tuple[tuple[Mapping[str, Any], tuple[PathSegment, ...]], ...]
    source: str | None
    obj: str | None

    @classmethod
    def of(cls, data: Mapping[str, Any], *, source: str | None, obj: str | None) -> ConfigReader:
        return cls(((data, ()),), source, obj)

    # --- lookup ---------------------------------------------------------------------------------

    def find(self, key: str) -> tuple[Any, tuple[PathSegment, ...]] | None:
        """The first non-null value of ``key`` and its path, or None."""
        for data, prefix in self.layers:
            if key in data and data[key] is not None:
                return data[key], (*prefix, key)
        return None

    def has(self, key: str) -> bool:
        return self.find(key) is not None

    def raw(self, key: str) -> Any:
        found = self.find(key)
        return None if found is None else found[0]

    def path(self, key: str) -> tuple[PathSegment, ...]:
        found = self.find(key)
        return found[1] if found is not None else (*self.layers[0][1], key)

    def bad(self, path: Sequence[PathSegment], problem: str) -> BadInput:
        return BadInput(problem, source=self.source, obj=self.obj, path=path)

    def missing(self, key: str, what: str = "") -> BadInput:
        return self.bad(self.path(key), f"is missing{f' ({what})' if what else ''}")

    def sub(self, key: str) -> ConfigReader | None:
        """A nested object (``rope_scaling``, ``vision_config``...) as its own reader; None when absent."""
        found = self.find(key)
        if found is None:
            return None
        value, path = found
        if not isinstance(value, Mapping):
            raise self.bad(path, f"{describe_value(value)} is not an object")
        return ConfigReader(((value, path),), self.source, self.obj)

    # --- typed values ---------------------------------------------------------------------------

    def integer(
        self,
        key: str,
        *,
        minimum: int = 1,
        maximum: int,
        default: int | None = None,
        what: str = "",
    ) -> int:
        found = self.find(key)
        if found is None:
            if default is not None:
                return default
            raise self.missing(key, what)
        return self.check_int(found[0], found[1], minimum=minimum, maximum=maximum)

    def opt_integer(self, key: str, *, minimum: int = 1, maximum: int) -> int | None:
        found = self.find(key)
        if found is None:
            return None
        return self.check_int(found[0], found[1], minimum=minimum, maximum=maximum)

    def first_integer(self, keys: Sequence[str], *, minimum: int = 1, maximum: int) -> int | None:
        for key in keys:
            if self.has(key):
                return self.integer(key, minimum=minimum, maximum=maximum)
        return None

    def check_int(self, value: Any, path: Sequence[PathSegment], *, minimum: int, maximum: int) -> int:
        number = whole_number(value)
        if number is None:
            raise self.bad(path, _not_an_integer(value))
        if number < minimum:
            raise self.bad(path, f"{describe_value(value)} must be at least {minimum:,}")
        if number > maximum:
            raise self.bad(path, f"{describe_value(value)} is too large (at most {maximum:,})")
        return number

    def number(self, key: str, *, minimum: float, maximum: float) -> float | None:
        """A finite float in (minimum, maximum]; None when absent."""
        found = self.find(key)
        if found is None:
            return None
        value, path = found
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.bad(path, f"{describe_value(value)} is not a number")
        as_float = _finite(value)
        if as_float is None:
            raise self.bad(path, f"{describe_value(value)} is not a finite number")
        if not minimum < as_float <= maximum:
            raise self.bad(
                path, f"{describe_value(value)} is out of range (must be > {minimum:g} and <= {maximum:g})"
            )
        return as_float

    def text(self, key: str) -> str | None:
        found = self.find(key)
        if found is None:
            return None
        value, path = found
        if not isinstance(value, str):
            raise self.bad(path, f"{describe_value(value)} is not a string")
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        found = self.find(key)
        if found is None:
            return default
        value, path = found
        if not isinstance(value, bool):
            raise self.bad(path, f"{describe_value(value)} is not true or false")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        found = self.find(key)
        if found is None:
            return ()
        value, path = found
        if not isinstance(value, list):
            raise self.bad(path, f"{describe_value(value)} is not a list")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.bad((*path, index), f"{describe_value(item)} is not a string")
        return tuple(value)

    def integers(self, key: str, *, minimum: int, maximum: int) -> tuple[int, ...]:
        found = self.find(key)
        if found is None:
            return ()
        value, path = found
        if not isinstance(value, list):
            raise self.bad(path, f"{describe_value(value)} is not a list")
        return tuple(
            self.check_int(item, (*path, index), minimum=minimum, maximum=maximum)
            for index, item in enumerate(value)
        )


def whole_number(value: Any) -> int | None:
    """``value`` as an int when it is an integer or an integral finite float (32.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _finite(value: int | float) -> float | None:
    try:
        as_float = float(value)
    except OverflowError:  # a 400-digit integer
        return None
    return as_float if math.isfinite(as_float) else None


def _not_an_integer(value: Any) -> str:
    shown = describe_value(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"{shown} is not a finite number"
    if isinstance(value, float):
        return f"{shown} is not a whole number"
    return f"{shown} is not an integer"
