"""Kubernetes resource quantities and integer fields, read as the API server reads them."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

#: Suffixes of a Kubernetes resource quantity (k8s.io/apimachinery pkg/api/resource
#: quantity.go: binarySI Ki..Ei, decimalSI n u m "" k M G T P E, and decimal exponents).
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")


def parse_quantity(value: Any) -> Decimal | None:
    """A resource quantity (``2``, ``"500m"``, ``"16Gi"``, ``"1e3"``) as a number, or None when
    it is not one (booleans, lists, bad strings)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    number, exponent, suffix = match.groups()
    try:
        base = Decimal(number)
        if exponent:
            return base * (Decimal(10) ** int(exponent[1:]))
    except (InvalidOperation, ValueError):
        return None
    suffix = suffix or ""
    return base * (_BINARY[suffix] if suffix in _BINARY else _DECIMAL[suffix])


def quantity_int(value: Any) -> int | None:
    """A whole-number quantity (``2``, ``"2"``, ``2.0``, ``"2000m"``), or None (fractions,
    booleans, anything that is not a quantity).  Extended resources such as GPUs must be
    whole numbers."""
    number = parse_quantity(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def to_int(value: Any, default: int | None = None) -> int | None:
    """An integer field (``2``, ``"2"``, ``2.0``) or ``default``."""
    if isinstance(value, bool) or value is None:
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else default
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return default
    return default


def to_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and abs(result) != float("inf") else None
