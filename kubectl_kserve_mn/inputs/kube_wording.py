"""How the Kubernetes API server words a refused object: Go value formatting and ``field.Error`` text.

Read from the Kubernetes source (Apache-2.0), cited by repository@commit:path:

- apimachinery@eed236ceee2c19c2753a3d93ac0631dc20750454:pkg/util/validation/field/errors.go —
  ``Error.Error()`` is ``<field>: <ErrorBody>``; ``ErrorBody`` prints ``<Type>: <value>[: <detail>]``
  with int64/float64/bool as ``%v``, strings as ``%q`` and anything else as JSON; Required, TooLong and
  Forbidden omit the value; ``TooLong`` says ``may not be more than %d bytes``, ``TooMany`` says
  ``must have at most %d items``, ``NotSupported`` says ``supported values: "a", "b"``.
- same commit, pkg/util/validation/field/path.go — a nil path prints as ``<nil>``.
- same commit, pkg/api/errors/errors.go ``NewInvalid`` — ``<Kind>.<group> "<name>" is invalid: <errors>``;
  pkg/util/errors/errors.go — several errors are joined as ``[e1, e2]`` (duplicates dropped).
- kube-openapi@d427ff9ee9ad05f5da435abbb7c5929cb713ac56:pkg/validation/errors/schema.go — the OpenAPI
  messages (``%s in body should be greater than or equal to %v`` ...).

This module only formats; which message applies is decided by :mod:`kubectl_kserve_mn.inputs.schema`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

NIL_FIELD = "<nil>"
"""How ``field.Path`` prints a nil path: errors that kube-openapi returns without a field name."""

# field.ErrorType.String() (apimachinery field/errors.go)
REQUIRED = "Required value"
INVALID = "Invalid value"
UNSUPPORTED = "Unsupported value"
DUPLICATE = "Duplicate value"
TOO_LONG = "Too long"
TOO_MANY = "Too many"


def go_quote(text: str) -> str:
    """Go's ``strconv.Quote`` (what ``%q`` prints for a string): printable runes kept (``str.isprintable``
    is Go's ``unicode.IsPrint``: letters, marks, numbers, punctuation, symbols and the ASCII space), ``"``
    and ``\\`` escaped, control characters as ``\\a``..``\\v`` or ``\\xNN``, other runes as ``\\uNNNN`` or
    ``\\UNNNNNNNN``. A byte that was not UTF-8 (a surrogate from ``surrogateescape``, as in ``sys.argv``)
    prints as ``\\xNN``, as Go prints the raw byte. The one implementation: the API server's, KServe's
    webhook's and kubectl's messages all quote this way."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\x{code - 0xDC00:02x}" if code >= 0xDC80 else "\\ufffd")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_SHORT_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _digits(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of a positive finite float and the decimal point position:
    ``value == 0.<digits> * 10**point`` (``65535.0`` -> ``("65535", 5)``, ``1e-05`` -> ``("1", -4)``)."""
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    both = whole + fraction
    digits = both.lstrip("0")
    point = len(whole) + (int(exponent) if exponent else 0) - (len(both) - len(digits))
    return digits.rstrip("0") or "0", point


def go_float(value: float) -> str:
    """Go's ``%v`` of a float64 (``strconv.FormatFloat(v, 'g', -1, 64)``): ``1``, ``0.5``, ``1e+06``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    digits, point = _digits(abs(value))
    count = len(digits)
    # strconv/ftoa.go: %e when the exponent is < -4 or >= the precision, which for the shortest form is 6,
    # or the digit count when that is larger and the number has no fraction digits.
    eprec = 6
    if eprec > count and count >= point:
        eprec = count
    exp = point - 1
    if exp < -4 or exp >= eprec:
        mantissa = digits[0] + ("." + digits[1:] if count > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= count:
        return f"{sign}{digits}{'0' * (point - count)}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _go_json_float(value: float) -> str:
    """encoding/json's float64: positional between 1e-6 and 1e21, else ``1e+21`` / ``1e-7``."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-6 <= magnitude < 1e21:
        digits, point = _digits(magnitude)
        sign = "-" if value < 0 else ""
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    text = go_float(value)
    mantissa, _, exp = text.partition("e")
    return f"{mantissa}e{exp[0]}{int(exp[1:])}"


_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def go_json(value: Any) -> str:
    """Go's ``json.Marshal`` of a decoded JSON value: sorted keys, no spaces, ``<>&`` escaped.

    Deep values (thousands of levels) are not expanded: ``<value omitted>``.
    """
    try:
        return _go_json(value)
    except RecursionError:
        return "<value omitted>"


def _go_json(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_json_float(value) if math.isfinite(value) else "null"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return "".join(_HTML_ESCAPES.get(ch, ch) for ch in text)
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{_go_json(k)}:{_go_json(v)}" for k, v in items) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    return _go_json(str(value))


def go_value(value: Any) -> str:
    """How ``field.Error.ErrorBody`` prints a bad value: ``%v`` for numbers and bools, ``%q`` for
    strings, JSON for the rest (``null``, ``{"a":1}``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    return go_json(value)


def error_body(error_type: str, value: Any = None, detail: str = "", *, show_value: bool = True) -> str:
    """``field.Error.ErrorBody()``: ``Invalid value: 0: spec.x in body should be ...``."""
    text = f"{error_type}: {go_value(value)}" if show_value else error_type
    return f"{text}: {detail}" if detail else text


def field_error(field: str, body: str) -> str:
    """``field.Error.Error()``: ``<field>: <body>``."""
    return f"{field}: {body}"


def api_path(path: Sequence[str | int]) -> str:
    """A field path as kube-openapi names it (and the API server prints it): keys joined with ``.``
    (map keys too: ``resources.limits.nvidia.com/gpu``), list indexes as ``[0]``."""
    text = ""
    for segment in path:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else segment
    return text


def invalid_object_message(kind: str, group: str, name: str, errors: Sequence[str]) -> str:
    """``apierrors.NewInvalid(...).Error()``: ``InferenceService.serving.kserve.io "llama" is invalid: ...``;
    several errors in brackets, comma-separated, duplicates dropped (``ToAggregate``)."""
    unique = list(dict.fromkeys(errors))
    head = f"{kind}.{group} {go_quote(name)} is invalid"
    if not unique:
        return head
    if len(unique) == 1:
        return f"{head}: {unique[0]}"
    return f"{head}: [{', '.join(unique)}]"
