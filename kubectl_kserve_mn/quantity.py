"""Kubernetes resource quantities (``8``, ``"8"``, ``"1500m"``, ``"1Ki"``), parsed in one place."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

_SUFFIXES: dict[str, Decimal] = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}  # fmt: skip
_BY_LENGTH = sorted(_SUFFIXES, key=len, reverse=True)


def parse(quantity: Any) -> Decimal:
    """The exact value of a quantity; ValueError when it is not one."""
    if isinstance(quantity, bool):
        raise ValueError(f"invalid resource quantity {quantity!r}")
    if isinstance(quantity, int):
        return Decimal(quantity)
    if isinstance(quantity, float):
        return Decimal(str(quantity))
    text = str(quantity).strip()
    for suffix in _BY_LENGTH:
        if suffix and text.endswith(suffix):
            number, scale = text[: -len(suffix)], _SUFFIXES[suffix]
            break
    else:
        number, scale = text, Decimal(1)
    try:
        value = Decimal(number) * scale
    except InvalidOperation:
        raise ValueError(f"invalid resource quantity {quantity!r}") from None
    if not value.is_finite():
        raise ValueError(f"invalid resource quantity {quantity!r}")
    return value


def ceil_value(quantity: Any) -> int:
    """``Quantity.Value()``: the value rounded up to an integer (GPUs are counted this way)."""
    return int(parse(quantity).to_integral_value(rounding=ROUND_CEILING))
