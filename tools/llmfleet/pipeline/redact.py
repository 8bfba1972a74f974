"""Secret values never leave the machine: every report, diff and message goes through here.

What is secret is defined once, in :mod:`llmfleet.model.secrets` (also used by the
``secret-literal`` rule).  :func:`scrub_text` and :class:`Scrubber` remove known values,
token-like text and the value of a sensitive ``--option=value`` from any string (finding
messages, error messages); :func:`redact_pair` replaces them in two versions of an object for
a diff, keeping each key and whether its value changed, never the value, its base64 or a hash
of it (a hash of a short value can be brute-forced).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable
from typing import Any

from llmfleet.model.secrets import (
    MIN_LENGTH,
    OPTION_ASSIGNMENT,
    REDACTED,
    TOKEN,
    containers,
    is_reference,
    is_sensitive_name,
    list_at,
    secret_mappings,
    secret_values,
)

#: What a diff shows on the new side for a secret value that changed.
REDACTED_CHANGED = "<redacted, changed>"

__all__ = [
    "REDACTED",
    "REDACTED_CHANGED",
    "Scrubber",
    "remember",
    "remembered",
    "scrub_internal",
    "redact_object",
    "redact_pair",
    "scrub_text",
    "secret_values",
]


# -- removing --------------------------------------------------------------------------------


def _pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted({v for v in values if len(v) >= MIN_LENGTH}, key=len, reverse=True)
    if not ordered:
        return None
    # A value is replaced where it is not part of a longer word.
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, ordered)) + r")(?![A-Za-z0-9])")


def _assignment(match: re.Match[str]) -> str:
    if is_sensitive_name(match.group(1)) and not match.group(2).startswith("<redacted"):
        return f"{match.group(1)}={REDACTED}"
    return match.group(0)


class Scrubber:
    """Removes known secret values, token-like text and the value of a sensitive
    ``--option=value`` from text; the values' pattern is compiled once."""

    def __init__(self, values: Iterable[str] = ()):
        self.values = frozenset(values)
        self._pattern = _pattern(self.values)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        text = TOKEN.sub(REDACTED, text)
        return OPTION_ASSIGNMENT.sub(_assignment, text) if "=" in text else text


#: Every secret value this process has read (see :func:`remember`), so that a message written
#: far from the input (an internal error, a tool's output) can still leave it out.
_SEEN: set[str] = set()
_SEEN_LOCK = threading.Lock()
#: A quoted literal in an exception's text (Python's messages quote the value they are about).
_QUOTED = re.compile(r"""(?<![A-Za-z0-9])(?:'[^'\n]*'|"[^"\n]*")""")


def remember(values: Iterable[str]) -> None:
    """Keep ``values`` (secret values of an input just read) for :func:`remembered`."""
    with _SEEN_LOCK:
        _SEEN.update(v for v in values if len(v) >= MIN_LENGTH)


def remembered() -> frozenset[str]:
    with _SEEN_LOCK:
        return frozenset(_SEEN)


def scrub_internal(text: str) -> str:
    """An internal error's text, for a bug report: without any secret value this process has
    read, token-like text, or any quoted literal (the exception may have been raised on a
    value that never became an object, such as ``!!int <secret>``, so it cannot be known)."""
    text = Scrubber(remembered())(text)
    return _QUOTED.sub(f"'{REDACTED}'", text)


def scrub_text(text: str, values: Iterable[str] = ()) -> str:
    """``text`` without the known secret ``values``, token-like text, or the value of a
    sensitive ``--option=value``."""
    return Scrubber(values)(text)


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


_MISSING = object()


def _marker(value: Any, other: Any, new_side: bool) -> str:
    """The redacted value: on the new side of a diff, marked when it differs from the old."""
    if new_side and other is not _MISSING and other != value:
        return REDACTED_CHANGED
    return REDACTED


def _redact(obj: Any, other: Any, new_side: bool, scrub: Scrubber) -> Any:
    out = copy.deepcopy(obj)
    if not isinstance(out, dict):
        return out
    for path, mapping in list(secret_mappings(out)):
        twin = _at(other, path) if other is not None else _MISSING
        for key, value in list(mapping.items()):
            twin_value = twin.get(key, _MISSING) if isinstance(twin, dict) else _MISSING
            mapping[key] = _marker(value, twin_value, new_side)
    for container in containers(out):
        _redact_container(container, obj, other, new_side)

    def walk(node: Any, twin: Any) -> Any:
        if isinstance(node, str):
            if node in (REDACTED, REDACTED_CHANGED):
                return node
            if new_side and isinstance(twin, str) and twin != node:
                return _scrub_changed_lines(node, twin, scrub)
            return scrub(node)
        if isinstance(node, dict):
            return {
                k: walk(v, twin.get(k, _MISSING) if isinstance(twin, dict) else _MISSING)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [
                walk(v, twin[i] if isinstance(twin, list) and i < len(twin) else _MISSING)
                for i, v in enumerate(node)
            ]
        return node

    return walk(out, other if other is not None else _MISSING)


def _scrub_changed_lines(new: str, old: str, scrub: Scrubber) -> str:
    """A changed multi-line string (a serve.yaml, a script): a line whose secret value
    changed shows <redacted, changed>, so the diff still shows that it changed."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    old_by_shape: dict[str, list[str]] = {}
    for line in old_lines:
        old_by_shape.setdefault(scrub(line), []).append(line)
    out = []
    for line in new_lines:
        shown = scrub(line)
        if REDACTED in shown and shown in old_by_shape and line not in old_by_shape[shown]:
            shown = shown.replace(REDACTED, REDACTED_CHANGED)
        out.append(shown)
    return "\n".join(out)


def _redact_container(container: dict, obj: Any, other: Any, new_side: bool) -> None:
    twin = _find_twin(container, other)
    for item in list_at(container, "env"):
        if (
            isinstance(item, dict)
            and is_sensitive_name(item.get("name"))
            and "value" in item
            and not is_reference(item.get("value"))
        ):
            twin_env = (
                [e for e in list_at(twin, "env") if isinstance(e, dict) and e.get("name") == item.get("name")]
                if twin
                else []
            )
            item["value"] = _marker(
                item["value"], twin_env[0].get("value", _MISSING) if twin_env else _MISSING, new_side
            )
    for key in ("command", "args"):
        words = container.get(key)
        if not isinstance(words, list):
            continue
        twin_words = list_at(twin, key)
        for i, word in enumerate(list(words)):
            if not isinstance(word, str):
                continue
            name, eq, _ = word.partition("=")
            if name.startswith("-") and is_sensitive_name(name):
                if eq:
                    words[i] = f"{name}={_marker(word, _item(twin_words, i), new_side)}"
                elif (
                    i + 1 < len(words)
                    and isinstance(words[i + 1], str)
                    and not words[i + 1].startswith("-")
                    and not is_reference(words[i + 1])
                ):
                    words[i + 1] = _marker(words[i + 1], _item(twin_words, i + 1), new_side)


def _item(words: list[Any], i: int) -> Any:
    return words[i] if 0 <= i < len(words) else _MISSING


def _find_twin(container: dict, other: Any) -> dict | None:
    """The container of the same name in the other version of the object."""
    if other is None or not container.get("name"):
        return None
    for candidate in containers(other) if isinstance(other, dict) else ():
        if candidate.get("name") == container.get("name"):
            return candidate
    return None


def redact_object(obj: Any) -> Any:
    """A copy of ``obj`` with every secret value replaced by :data:`REDACTED`."""
    values = secret_values([obj])
    return _redact(obj, None, False, Scrubber(values))


def redact_pair(before: Any, after: Any) -> tuple[Any, Any]:
    """Two versions of an object, redacted for a diff: keys stay, every secret value becomes
    :data:`REDACTED`, and on the new side :data:`REDACTED_CHANGED` where it differs from the
    old, so a diff shows which keys changed and never a value, its base64 or a hash."""
    values = secret_values([o for o in (before, after) if o is not None])
    scrub = Scrubber(values)
    old = _redact(before, after, False, scrub) if before is not None else None
    new = _redact(after, before, True, scrub) if after is not None else None
    return old, new
