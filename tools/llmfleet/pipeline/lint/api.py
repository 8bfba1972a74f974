"""The rule API: what a rule module imports besides the model.

A rule is a module in ``llmfleet.pipeline.lint.rules`` with one check function decorated by
:func:`rule`.  The check is a pure function of the model and the rule's own validated
options::

    @rule(id="probe-liveness", severity=Severity.WARNING, description=..., remediation=...,
          rationale=..., options=[Option("min-window-seconds", int, 60, "...")])
    def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
        \"\"\"Passing:: ... Failing (pointer):: ...\"\"\"

Scope ``input`` checks get one :class:`~llmfleet.model.OverlayModel` (an overlay's rendered
output, or the files given to ``lint``); scope ``fleet`` checks get the
:class:`~llmfleet.model.FleetModel` of ``check``.  Options come from ``lint.rules.<id>`` in
llmfleet.yaml; an unknown option, a value of the wrong type, or an unknown rule id there is a
usage error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from llmfleet.infra.findings import Severity
from llmfleet.model import FleetModel, OverlayModel
from llmfleet.model.k8s import Resource

__all__ = [
    "FleetModel",
    "Option",
    "Options",
    "OverlayModel",
    "Problem",
    "Rule",
    "Severity",
    "rule",
    "registered",
]

SCOPES = ("input", "fleet")
FOREIGN_MODES = ("on", "info", "off")


@dataclass(frozen=True)
class Problem:
    """What a check yields: the object, a JSON pointer into it and a message."""

    resource: Resource | None
    path: str
    message: str
    severity: Severity | None = None  # None: the rule's own severity
    file: str = ""  # for problems with no resource


@dataclass(frozen=True)
class Option:
    """One configurable value of a rule."""

    name: str
    type: type
    default: Any
    help: str
    minimum: float | None = None

    def coerce(self, value: Any, rule_id: str) -> Any:
        where = f"lint.rules.{rule_id}.{self.name}"
        if self.type is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{where}: {value!r} is not true or false")
            return value
        if self.type in (int, float):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or (self.type is int and isinstance(value, float) and not value.is_integer())
            ):
                raise ValueError(
                    f"{where}: {value!r} is not {'an integer' if self.type is int else 'a number'}"
                )
            value = self.type(value)
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"{where}: {value!r} is below the minimum {self.minimum:g}")
            return value
        if self.type is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{where}: {value!r} is not a list of strings")
            return list(value)
        if not isinstance(value, self.type):
            raise ValueError(f"{where}: {value!r} is not a {self.type.__name__}")
        return value


class Options(Mapping[str, Any]):
    """A rule's options: defaults overridden by llmfleet.yaml, validated."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Options({self._values!r})"


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    description: str
    remediation: str
    rationale: str
    scope: str
    check: Callable[..., Iterable[Problem]]
    category: str = ""
    options: tuple[Option, ...] = ()
    #: An external tool whose results the pipeline attaches to the model before the check
    #: runs (``model.tool_results[tool]``), e.g. promtool.
    tool: str = ""
    #: False for a rule that runs only when ``lint.enabled-rules`` names it.
    default_enabled: bool = True
    #: What the rule does on manifests from elsewhere (the ``foreign`` preset): ``on``, ``info``
    #: (reported at info: a policy of this repository, not a fault of the file) or ``off``
    #: (it judges this repository's fleet conventions, which a foreign file does not follow).
    foreign: str = "on"

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.check) or ""

    def resolve_options(self, configured: Mapping[str, Any] | None = None) -> Options:
        """Defaults overridden by ``configured``; ValueError naming the problem otherwise."""
        configured = dict(configured or {})
        known = {o.name: o for o in self.options}
        unknown = sorted(k for k in configured if k not in known and k != "severity")
        if unknown:
            allowed = ", ".join(sorted(known)) or "none"
            raise ValueError(
                f"lint.rules.{self.id}: unknown option {', '.join(unknown)} (options: {allowed}, severity)"
            )
        values = {
            o.name: o.coerce(configured[o.name], self.id) if o.name in configured else o.default
            for o in self.options
        }
        return Options(values)


_RULES: dict[str, Rule] = {}


def rule(
    *,
    id: str,
    severity: Severity,
    description: str,
    remediation: str,
    rationale: str,
    scope: str = "input",
    category: str = "",
    options: Iterable[Option] = (),
    tool: str = "",
    default_enabled: bool = True,
    foreign: str = "on",
) -> Callable[[Callable[..., Iterable[Problem]]], Callable[..., Iterable[Problem]]]:
    """Register the decorated check function as a rule."""
    if scope not in SCOPES:
        raise ValueError(f"rule {id}: scope must be one of {SCOPES}")
    if foreign not in FOREIGN_MODES:
        raise ValueError(f"rule {id}: foreign must be one of {FOREIGN_MODES}")

    def register(func: Callable[..., Iterable[Problem]]) -> Callable[..., Iterable[Problem]]:
        if id in _RULES and _RULES[id].check is not func:
            raise ValueError(f"rule id {id!r} registered twice")
        if not (inspect.getdoc(func) or "").strip():
            raise ValueError(f"rule {id}: the check function needs a docstring with examples")
        _RULES[id] = Rule(
            id=id,
            severity=severity,
            description=description,
            remediation=remediation,
            rationale=rationale,
            scope=scope,
            check=func,
            category=category or func.__module__.rsplit(".", 1)[-1].split("_")[0],
            options=tuple(options),
            tool=tool,
            default_enabled=default_enabled,
            foreign=foreign,
        )
        return func

    return register


def registered() -> dict[str, Rule]:
    return _RULES
