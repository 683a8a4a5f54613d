"""How a refused input is worded: one line, ``source: object: field.path: value problem``."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from kubectl_kserve_mn.errors import InputError

PathSegment = str | int
"""A mapping key or a list index."""

_SIMPLE_KEY = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_VALUE_WIDTH = 60


def path_text(path: Sequence[PathSegment]) -> str:
    """kubectl's way of naming a field: ``spec.containers[0].resources.limits["nvidia.com/gpu"]``."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif segment and set(segment) <= _SIMPLE_KEY:
            text += f".{segment}" if text else segment
        else:
            text += f"[{json.dumps(segment)}]"
    return text


def describe_value(value: Any) -> str:
    """A bad value as the user wrote it, short: ``"8.5"``, ``8.5``, ``null``, ``a list``, ``a mapping``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("an infinite number" if value == value else "NaN")
    if isinstance(value, int):
        digits = len(str(abs(value))) if abs(value) < 10**4000 else 4001
        return str(value) if digits <= 30 else f"a {digits}-digit number"
    if isinstance(value, str):
        shown = json.dumps(value, ensure_ascii=False)
        return shown if len(shown) <= _VALUE_WIDTH else shown[: _VALUE_WIDTH - 4] + '..."'
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class BadInput(InputError):
    """Input the tool refuses (exit 2), worded ``source: object: path: problem``.

    ``source`` is the file (``nodes.yaml``, ``<stdin>``) or the API (``the API server``); ``obj`` names the
    object (``Node gpu-h100-a``, ``InferenceService team-a/llama``) or its position when it has no usable
    name (``Node #3``); ``path`` is the field; ``problem`` says what is wrong with the value, and should
    start with :func:`describe_value` of it.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        obj: str | None = None,
        path: Sequence[PathSegment] = (),
    ) -> None:
        self.source = source
        self.obj = obj
        self.path = tuple(path)
        self.problem = problem
        parts = [p for p in (source, obj, path_text(path)) if p]
        super().__init__(": ".join([*parts, problem]))
