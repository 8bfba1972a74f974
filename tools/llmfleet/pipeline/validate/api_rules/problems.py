"""What an API-validation check returns: problems at paths of the object, as the API
server's field.ErrorList (a path and a message, the value left out: it may be secret)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeGuard


@dataclass
class Problems:
    items: list[tuple[tuple[Any, ...], str]] = field(default_factory=list)

    def add(self, path: Iterable[Any], message: str) -> None:
        self.items.append((tuple(path), message))

    def extend(self, path: Iterable[Any], messages: Iterable[str]) -> None:
        base = tuple(path)
        for message in messages:
            self.items.append((base, message))


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
