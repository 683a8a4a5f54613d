"""JSON values as the Kubernetes API server sees them after kubectl sent them, and value comparisons.

kubectl encodes YAML as JSON with Go's encoder; the API server decodes numbers as int64 when they fit,
else float64 (apimachinery util/json). kube-openapi's type checks then name the JSON type of a value
(kube-openapi@d427ff9ee9ad05f5da435abbb7c5929cb713ac56:pkg/validation/validate/type.go
``schemaInfoForType``). Used by :mod:`kubectl_kserve_mn.inputs.schema`.
"""

from __future__ import annotations

import base64
import datetime
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from kubectl_kserve_mn.inputs import kube_wording as kw

# The JSON type of a decoded value (kube-openapi type.go schemaInfoForType), plus the Go format it reports.
NULL, BOOL, INT, FLOAT, STR, MAP, LIST, BAD = range(8)
TYPE_NAMES = ("null", "boolean", "integer", "number", "string", "object", "array", "")
GO_FORMATS = ("", "", "int64", "float64", "", "", "", "")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
JSON_INT_LIMIT = float(2**53)  # swag.IsFloat64AJSONInteger


FAST_KINDS: dict[type, int] = {str: STR, dict: MAP, list: LIST, bool: BOOL}


def json_value(value: Any) -> tuple[int, Any]:
    """The value the API server decodes from what kubectl sends, and its JSON type.

    kubectl turns YAML into JSON with Go's encoder, and the server decodes JSON numbers as int64 when they
    fit, else float64: a YAML ``4.0`` arrives as the integer 4, an integer beyond int64 as a float.
    Dates and binary (base64) scalars from YAML arrive as strings. NaN and infinities cannot be sent.
    """
    fast = FAST_KINDS.get(type(value))
    if fast is not None:
        return fast, value
    if value is None:
        return NULL, None
    if isinstance(value, bool):
        return BOOL, value
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return INT, value
        try:
            return FLOAT, float(value)
        except OverflowError:
            return BAD, value
    if isinstance(value, float):
        if not math.isfinite(value):
            return BAD, value
        if value.is_integer() and INT64_MIN <= value < 2**63:
            return INT, int(value)
        return FLOAT, value
    if isinstance(value, str):
        return STR, value
    if isinstance(value, Mapping):
        return MAP, value
    if isinstance(value, (list, tuple)):
        return LIST, value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return STR, value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return STR, base64.b64encode(value).decode("ascii")  # Go marshals []byte as base64
    return BAD, value


def json_key(key: Any) -> str:
    """A YAML mapping key as it reaches the API server (kubectl stringifies them: ``1``, ``true``)."""
    if isinstance(key, str):
        return key
    kind, value = json_value(key)
    return kw.go_json(value) if kind in (BOOL, INT, FLOAT) else str(key)


def unsendable(value: Any) -> str:
    if isinstance(value, float):
        return f"json: unsupported value: {kw.go_float(value)}"
    if isinstance(value, int):
        return f"a {len(str(abs(value)))}-digit number does not fit a 64-bit float"
    return f"json: unsupported type: {type(value).__name__}"


def type_matches(kind: int, value: Any, types: tuple[str, ...]) -> bool:
    """Whether type.go accepts a non-null value for ``types`` (a branch that sets only ``type``)."""
    return (
        TYPE_NAMES[kind] in types
        or (kind == FLOAT and "integer" in types and is_json_integer(value))
        or (kind == INT and "number" in types)
    )


def is_json_integer(value: float) -> bool:
    return -JSON_INT_LIMIT <= value <= JSON_INT_LIMIT and value.is_integer()


def hashable(value: Any) -> Any:
    if type(value) is str:
        return (STR, value)
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return ("json", json.dumps(value, sort_keys=True, default=str))
        except (RecursionError, TypeError, ValueError):
            return ("unique", id(value))  # too deep (or unsortable) to compare: never a duplicate
    return json_value(value)


def json_equal(left: Any, right: Any) -> bool:
    lk, lv = json_value(left)
    rk, rv = json_value(right)
    if lk in (INT, FLOAT) and rk in (INT, FLOAT):
        return bool(lv == rv)
    if lk != rk:
        return False
    if lk in (MAP, LIST):
        return kw.go_json(lv) == kw.go_json(rv)
    return bool(lv == rv)


_DATE_TIME_RE = re.compile(
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))\Z", re.ASCII
)
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z", re.ASCII)


def is_date_time(text: str) -> bool:
    """kube-openapi strfmt/time.go ``IsDateTime`` (format ``date-time``)."""
    if len(text) < 4:
        return False
    parts = text.lower().split("t")
    if len(parts) < 2:
        return False
    date = _DATE_RE.match(parts[0])
    if date is None:
        return False
    try:
        datetime.date(int(date[1]), int(date[2]), int(date[3]))
    except ValueError:
        return False
    match = _DATE_TIME_RE.match(parts[1])
    return match is not None and match[1] <= "23" and match[2] <= "59" and match[3] <= "59"
