"""JSON pointers (RFC 6901) into decoded objects, and safe access to nested values."""

from __future__ import annotations

from typing import Any


def escape_pointer_token(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: Any) -> str:
    """A JSON pointer from path tokens: ``pointer("spec", "containers", 0)``."""
    return "".join("/" + escape_pointer_token(t) for t in tokens)


def dig(data: Any, *keys: Any, default: Any = None) -> Any:
    """``data[k1][k2]...`` or ``default`` when any step is missing or of the wrong type."""
    for key in keys:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return default
    return data


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
