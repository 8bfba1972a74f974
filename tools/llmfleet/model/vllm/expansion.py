"""A container's environment and Kubernetes' ``$(VAR)`` expansion, as the kubelet does it.

* ``envFrom`` sources come first, in order, then ``env`` items, later ones overriding earlier
  ones (core/v1 Container: "When a key exists in multiple sources, the value associated with
  the last source will take precedence. Values defined by an Env with a duplicate key will
  take precedence").
* ``$(VAR)`` in an env value refers to variables defined earlier in the list; in ``command``
  and ``args`` to any variable of the container.  ``$$`` is an escaped ``$``; a reference to
  an undefined variable is left as written (k8s.io/kubernetes
  third_party/forked/golang/expansion/expand.go).

Values that are not in the input (a Secret, a field or resource reference, a ConfigMap the
input does not hold) are *unknown*: an expansion that meets one is unresolved, and the rules
do not judge unresolved settings (they never guess).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmfleet.model.k8s import Resource, as_dict, as_list, dig, escape_pointer_token


@dataclass(frozen=True)
class EnvValue:
    name: str
    value: str | None  # None: not knowable from the input
    source: str  # value | configMap | secret | field | resource | envFrom-* | unknown
    path: str  # JSON pointer of the env item in the workload
    resource: Resource | None = None  # the ConfigMap the value was read from, if any

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Expanded:
    text: str
    resolved: bool  # False when an unknown or undefined variable was referenced
    references: tuple[str, ...] = ()


def expand(text: str, lookup: Callable[[str], EnvValue | None]) -> Expanded:
    """Kubernetes' expansion of ``$(VAR)`` references in ``text``."""
    out: list[str] = []
    resolved = True
    refs: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            nxt = text[cursor + 1]
            if nxt == "$":
                out.append("$")
                advance = 1
            elif nxt == "(":
                close = text.find(")", cursor + 2)
                if close < 0:
                    out.append("$(")
                    advance = 1
                else:
                    name = text[cursor + 2 : close]
                    refs.append(name)
                    found = lookup(name)
                    if found is None or found.value is None:
                        resolved = False
                        out.append(f"$({name})")
                    else:
                        out.append(found.value)
                    advance = close - cursor
            else:
                out.append("$" + nxt)
                advance = 1
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return Expanded("".join(out), resolved, tuple(refs))


_SHELL_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}"
    r"|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))"
)


def expand_shell(text: str, lookup: Callable[[str], EnvValue | None]) -> Expanded:
    """The shell's ``$VAR``, ``${VAR}`` and ``${VAR:-default}`` in one word of a ``sh -c``
    script, from the container's environment."""
    resolved = True
    refs: list[str] = []

    def replace(match: re.Match[str]) -> str:
        nonlocal resolved
        name = match.group("braced") or match.group("plain")
        refs.append(name)
        found = lookup(name)
        if found is not None and found.value is not None:
            if found.value == "" and match.group("default") is not None:
                return match.group("default")
            return found.value
        if found is None and match.group("default") is not None:
            return match.group("default")
        resolved = False
        return match.group(0)

    return Expanded(_SHELL_VAR.sub(replace, text), resolved, tuple(refs))


ConfigMapFinder = Callable[[str, str], Resource | None]


class Environment:
    """The environment of one container, resolved as far as the input allows."""

    def __init__(
        self,
        container_data: dict[str, Any],
        container_path: str,
        namespace: str,
        find_configmap: ConfigMapFinder,
    ):
        self.values: dict[str, EnvValue] = {}
        #: True when an envFrom source the input does not hold may define more variables.
        self.open_ended = False
        for i, source in enumerate(as_list(container_data.get("envFrom"))):
            if not isinstance(source, dict):
                continue
            prefix = str(source.get("prefix") or "")
            path = f"{container_path}/envFrom/{i}"
            cm_name = dig(source, "configMapRef", "name")
            cm = find_configmap(str(cm_name), namespace) if cm_name else None
            if cm is not None:
                for key, value in as_dict(cm.data.get("data")).items():
                    name = prefix + str(key)
                    self.values[name] = EnvValue(
                        name, str(value), "envFrom-configMap", f"/data/{escape_pointer_token(key)}", cm
                    )
            else:
                self.open_ended = True
        for i, item in enumerate(as_list(container_data.get("env"))):
            if not isinstance(item, dict) or not item.get("name"):
                continue
            name = str(item["name"])
            path = f"{container_path}/env/{i}"
            if "value" in item or "valueFrom" not in item:
                raw = item.get("value")
                text = "" if raw is None else str(raw)
                expanded = expand(text, self.values.get)
                self.values[name] = EnvValue(
                    name, expanded.text if expanded.resolved else None, "value", path
                )
                continue
            ref = as_dict(item.get("valueFrom"))
            if "configMapKeyRef" in ref:
                key_ref = as_dict(ref["configMapKeyRef"])
                cm = find_configmap(str(key_ref.get("name") or ""), namespace)
                data = as_dict(cm.data.get("data")) if cm is not None else {}
                key = str(key_ref.get("key") or "")
                if cm is not None and key in data:
                    self.values[name] = EnvValue(
                        name, str(data[key]), "configMap", f"/data/{escape_pointer_token(key)}", cm
                    )
                else:
                    self.values[name] = EnvValue(name, None, "configMap", path)
            elif "secretKeyRef" in ref:
                self.values[name] = EnvValue(name, None, "secret", path)
            elif "fieldRef" in ref:
                self.values[name] = EnvValue(name, None, "field", path)
            elif "resourceFieldRef" in ref:
                self.values[name] = EnvValue(name, None, "resource", path)
            else:
                self.values[name] = EnvValue(name, None, "unknown", path)

    def get(self, name: str) -> EnvValue | None:
        found = self.values.get(name)
        if found is None and self.open_ended:
            return EnvValue(name, None, "envFrom-unknown", "")
        return found

    def expand(self, text: str) -> Expanded:
        return expand(text, self.get)

    def expand_shell(self, text: str) -> Expanded:
        return expand_shell(text, self.get)
