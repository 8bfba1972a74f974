"""Scalars as Kubernetes reads them: go-yaml v2's ``resolve`` and ``decoder.scalar`` (the
parser under sigs.k8s.io/yaml, which kubectl and the API server use), followed by
sigs.k8s.io/yaml's conversion to JSON and the JSON decoding of Kubernetes' unstructured
objects.  The facts and their upstream sources are in docs/reference/yaml.md.

Only the resolution of one scalar lives here; the YAML parsing itself is PyYAML's (libyaml,
the C library go-yaml v2 was ported from).  Every function is linear in the length of its
input: integers are bounded by digit count before Python builds them.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import codecs
import math
import re
import struct
from typing import Any

YAML = "tag:yaml.org,2002:"
STR, BOOL, INT, FLOAT, NULL, TIMESTAMP, BINARY, MERGE = (
    YAML + t for t in ("str", "bool", "int", "float", "null", "timestamp", "binary", "merge")
)
#: The tags go-yaml resolves (resolvableTag); any other tag leaves the text as a string.
_RESOLVABLE = frozenset({"", STR, BOOL, INT, FLOAT, NULL, TIMESTAMP})

_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1

#: go-yaml v2's resolveMap: exact spellings, no others.
_MAP: dict[str, tuple[str, Any]] = {}
for _value, _tag, _spellings in (
    (True, BOOL, "y Y yes Yes YES true True TRUE on On ON"),
    (False, BOOL, "n N no No NO false False FALSE off Off OFF"),
    (None, NULL, "~ null Null NULL"),
    (math.nan, FLOAT, ".nan .NaN .NAN"),
    (math.inf, FLOAT, ".inf .Inf .INF +.inf +.Inf +.INF"),
    (-math.inf, FLOAT, "-.inf -.Inf -.INF"),
    ("<<", MERGE, "<<"),
):
    for _s in _spellings.split():
        _MAP[_s] = (_tag, _value)
_MAP[""] = (NULL, None)

#: resolveTable: the first character decides which kinds are tried.
_HINT = dict.fromkeys("0123456789", "D") | {"+": "S", "-": "S", ".": "."} | dict.fromkeys("yYnNtTfFoO~", "M")

_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_DECIMAL_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+\.?[0-9]*)([eE][-+]?[0-9]+)?")
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
#: More significant digits than a 64-bit value can have in the smallest base.
_MAX_SIGNIFICANT_DIGITS = 64


class GoYAMLError(ValueError):
    """A scalar go-yaml (or the JSON conversion after it) refuses.  The message never
    quotes the scalar's text or tag: either could be a secret."""


def _parse_uint(s: str, base: int) -> int | None:
    """strconv.ParseUint(s, base, 64) for base 2, 8, 10, 16 with no prefix; None on error."""
    if not s or any(c not in _DIGITS[base] for c in s):
        return None
    significant = s.lstrip("0")
    if len(significant) > _MAX_SIGNIFICANT_DIGITS:
        return None
    value = int(significant or "0", base)
    return value if value <= _UINT64_MAX else None


def _parse_uint_base0(s: str) -> int | None:
    """strconv.ParseUint(s, 0, 64), after go-yaml removed every underscore."""
    if not s:
        return None
    base = 10
    if s[0] == "0":
        prefix = s[1:2].lower()
        if len(s) >= 3 and prefix in ("b", "o", "x"):
            base, s = {"b": 2, "o": 8, "x": 16}[prefix], s[2:]
        else:
            base, s = 8, s[1:]
            if not s:
                return 0
    return _parse_uint(s, base)


def _parse_int(s: str, base: int = 0) -> int | None:
    """strconv.ParseInt(s, base, 64); None on a syntax or range error."""
    if not s:
        return None
    negative = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
    magnitude = _parse_uint_base0(s) if base == 0 else _parse_uint(s, base)
    if magnitude is None:
        return None
    value = -magnitude if negative else magnitude
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _underscore_ok(s: str) -> bool:
    """strconv's underscoreOK: underscores only between digits (or after a base prefix)."""
    saw, i = "^", 0
    if s[:1] in ("-", "+"):
        s = s[1:]
    hexadecimal = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i, saw, hexadecimal = 2, "0", s[1].lower() == "x"
    for c in s[i:]:
        if c.isdigit() and c.isascii() or hexadecimal and c.lower() in "abcdef":
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def _parse_float(s: str) -> float | None:
    """strconv.ParseFloat(s, 64) for the decimal forms go-yaml hands it; None on a syntax
    error or an overflow (Go's ErrRange; an underflow is 0 without error)."""
    if "_" in s:
        if not _underscore_ok(s):
            return None
        s = s.replace("_", "")
    if not _GO_DECIMAL_FLOAT.fullmatch(s):
        return None
    value = float(s)
    return None if math.isinf(value) else value


_TIMESTAMP = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:[.,][0-9]+)?"
    r"(?P<tz>Z|[+-][0-9]{2}:[0-9]{2})?)?"
)


def parse_timestamp(s: str) -> bool:
    """go-yaml's parseTimestamp: one of its four time.Parse layouts, dates and times in
    range (time.Parse refuses 2024-02-30)."""
    m = _TIMESTAMP.fullmatch(s)
    if m is None:
        return False
    if m["sep"] is not None and (m["sep"] == " ") == (m["tz"] is not None):
        return False  # "T"/"t" layouts carry a zone; the space layout has none
    year, month, day = int(m["y"]), int(m["mo"]), int(m["d"])
    # Go's calendar is proleptic Gregorian with a year 0, a leap year like 2000.
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year or 2000, month)[1]:
        return False
    if m["sep"] is not None and (int(m["h"]) > 23 or int(m["mi"]) > 59 or int(m["s"]) > 59):
        return False
    if m["tz"] and m["tz"] != "Z" and (int(m["tz"][1:3]) > 24 or int(m["tz"][4:6]) > 60):
        return False
    return True


def _resolve_untyped(tag: str, text: str) -> tuple[str, Any]:
    hint = _HINT.get(text[0], "") if text else "N"
    if not hint or tag in (STR, BINARY):
        return STR, text
    if text in _MAP:
        return _MAP[text]
    if hint == ".":
        value = _parse_float(text)
        if value is not None:
            return FLOAT, value
    elif hint in ("D", "S"):
        if tag in ("", TIMESTAMP) and parse_timestamp(text):
            return TIMESTAMP, text
        plain = text.replace("_", "")
        number = _parse_int(plain)
        if number is None and plain[:1] not in ("+", "-"):
            number = _parse_uint_base0(plain)
        if number is not None:
            return INT, number
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            value = _parse_float(plain)
            if value is not None:
                return FLOAT, value
        if plain.startswith("0b"):
            number = _parse_int(plain[2:], 2)
            if number is None and plain[2:3] != "+" and plain[2:3] != "-":
                number = _parse_uint(plain[2:], 2)
            if number is not None:
                return INT, number
        elif plain.startswith("-0b"):
            number = _parse_int("-" + plain[3:], 2)
            if number is not None:
                return INT, number
    return STR, text


def _short(tag: str) -> str:
    return "!!" + tag[len(YAML) :] if tag.startswith(YAML) else "a local tag"


def resolve(tag: str, text: str) -> Any:
    """The value go-yaml decodes into ``interface{}`` for a scalar with ``tag`` ("" for a
    plain scalar with no tag).  Timestamps stay strings (go-yaml v2 does this for
    ``interface{}``); ``!!binary`` is decoded; unknown tags leave the text unchanged."""
    if tag == BINARY:
        return _binary(text)
    if tag not in _RESOLVABLE:
        return text
    rtag, value = _resolve_untyped(tag, text)
    if tag in ("", rtag, STR):
        return value
    if tag == FLOAT and rtag == INT and value <= _INT64_MAX:
        return float(value)  # go-yaml converts an int or int64, not a uint64
    raise GoYAMLError(f"a {_short(rtag)} value cannot be decoded as {_short(tag)}")


def _go_replace(exc: UnicodeError) -> tuple[str, int]:
    # Go's json.Marshal replaces each invalid byte with U+FFFD, one byte at a time.
    assert isinstance(exc, UnicodeDecodeError)
    return "\ufffd", exc.start + 1


codecs.register_error("llmfleet-go-replace", _go_replace)


def _binary(text: str) -> str:
    """base64.StdEncoding.DecodeString (newlines ignored, padding required), then the
    string JSON gets from the bytes."""
    try:
        raw = base64.b64decode(text.replace("\n", "").replace("\r", ""), validate=True)
    except (binascii.Error, ValueError):
        raise GoYAMLError("!!binary value contains invalid base64 data") from None
    return raw.decode("utf-8", errors="llmfleet-go-replace")


def to_json_value(value: Any) -> Any:
    """A scalar after sigs.k8s.io/yaml's json.Marshal and Kubernetes' JSON decoding
    (numbers become int64 when their JSON text is an integer, float64 otherwise)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if value <= _INT64_MAX else float(value)
    if math.isnan(value) or math.isinf(value):
        raise GoYAMLError("a NaN or infinite number cannot be converted to JSON")
    if value.is_integer() and _INT64_MIN <= value <= _INT64_MAX and abs(value) < 1e21:
        return int(value)
    return value


def _float32_key(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32), as sigs.k8s.io/yaml spells a float key."""
    if math.isnan(value):
        return ".nan"
    try:
        single = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        single = math.inf if value > 0 else -math.inf
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    for precision in range(9):
        text = f"{single:.{precision}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            break
    mantissa, exponent_text = text.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    exponent = int(exponent_text)
    if exponent < -4 or exponent >= 6:
        tail = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{tail}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole, fraction = digits[: exponent + 1].ljust(exponent + 1, "0"), digits[exponent + 1 :]
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


def json_key(key: Any) -> str:
    """The JSON object key sigs.k8s.io/yaml makes of a decoded map key."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int) and _INT64_MIN <= key <= _INT64_MAX:
        return str(key)
    if isinstance(key, float):
        return _float32_key(key)
    what = "null" if key is None else "an unsigned 64-bit integer"
    raise GoYAMLError(f"a mapping key that is {what} cannot be converted to JSON")
