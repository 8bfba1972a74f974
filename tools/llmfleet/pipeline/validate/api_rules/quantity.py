"""resource.Quantity as the API server parses it (k8s.io/apimachinery
pkg/api/resource/quantity.go, ParseQuantity and UnmarshalJSON): docs/reference/api-validation.md §2."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

# <quantity> ::= <signedNumber><suffix>; <number> ::= <digits> | <digits>.<digits> |
# <digits>. | .<digits>; <suffix> ::= Ki..Ei | n u m "" k M G T P E | (e|E)<signedNumber>
# (suffix.go also accepts n and u).
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_GRAMMAR = re.compile(
    rf"^(?P<number>{_NUMBER})(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+|)$"
)
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


class QuantityError(ValueError):
    pass


def parse(value: Any) -> Decimal:
    """The quantity's value; a JSON number is read as its decimal text, as UnmarshalJSON does."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise QuantityError(
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    text = value if isinstance(value, str) else repr(value)
    match = _GRAMMAR.match(text)
    if not match:
        raise QuantityError(
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    number, suffix = match.group("number"), match.group("suffix")
    try:
        amount = Decimal(number)
        if suffix in _BINARY:
            return amount * (Decimal(2) ** _BINARY[suffix])
        if suffix in _DECIMAL:
            return amount.scaleb(_DECIMAL[suffix])
        return amount.scaleb(int(suffix[1:]))
    except (InvalidOperation, OverflowError) as exc:
        raise QuantityError("quantity is out of range") from exc
