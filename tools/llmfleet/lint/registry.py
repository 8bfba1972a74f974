"""Rule registration.  A rule is a module in ``llmfleet.lint.rules`` with a check function
decorated by :func:`rule`; the engine discovers every module there and knows none by name.

A check function takes a :class:`~llmfleet.lint.context.LintContext` (scope ``input``: one
overlay's rendered output, or the files given to ``lint``) or a
:class:`~llmfleet.lint.context.FleetContext` (scope ``fleet``: every overlay in ``check``),
and yields :class:`Problem`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Callable, Iterable

from llmfleet.findings import Severity
from llmfleet.manifests import Resource

SCOPES = ("input", "fleet")


@dataclass(frozen=True)
class Problem:
    """What a check yields: the object, a JSON pointer into it and a message."""

    resource: Resource | None
    path: str
    message: str
    severity: Severity | None = None   # None: the rule's own severity
    file: str = ""                      # for problems with no resource (fleet rules)


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    description: str
    remediation: str
    scope: str
    check: Callable[..., Iterable[Problem]]
    category: str = ""
    #: Optional: called once with every input's context before any check runs, to batch
    #: expensive work (one promtool process for all PrometheusRules of a run).
    prepare: Callable[[list], None] | None = None

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.check) or ""


_RULES: dict[str, Rule] = {}


def rule(*, id: str, severity: Severity, description: str, remediation: str,
         scope: str = "input", category: str = "", prepare: Callable[[list], None] | None = None):
    """Register the decorated check function as a rule."""
    if scope not in SCOPES:
        raise ValueError(f"rule {id}: scope must be one of {SCOPES}")

    def register(func):
        if id in _RULES and _RULES[id].check is not func:
            raise ValueError(f"rule id {id!r} registered twice")
        if not (inspect.getdoc(func) or "").strip():
            raise ValueError(f"rule {id}: the check function needs a docstring with examples")
        _RULES[id] = Rule(id=id, severity=severity, description=description,
                          remediation=remediation, scope=scope, check=func,
                          category=category or func.__module__.rsplit(".", 1)[-1].split("_")[0],
                          prepare=prepare)
        return func

    return register


_loaded = False


def all_rules() -> list[Rule]:
    """Every registered rule, sorted by id (imports every module under ``lint.rules``)."""
    global _loaded
    if not _loaded:
        from llmfleet.lint import rules as package
        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package.__name__}.{module.name}")
        _loaded = True
    return sorted(_RULES.values(), key=lambda r: r.id)


def get_rule(rule_id: str) -> Rule:
    rules = {r.id: r for r in all_rules()}
    return rules[rule_id]
