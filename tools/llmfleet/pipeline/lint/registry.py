"""Rule discovery: every module in ``llmfleet.pipeline.lint.rules`` registers its check with
:func:`llmfleet.pipeline.lint.api.rule`; the engine knows none by name.  Built-in finding ids
(``llmfleet.pipeline.builtin_checks``) are listed beside the rules."""

from __future__ import annotations

import difflib
import importlib
import pkgutil

from llmfleet.pipeline.builtin_checks import BUILTINS, BuiltinCheck
from llmfleet.pipeline.lint.api import Problem, Rule, registered, rule  # noqa: F401  (re-exported)

_loaded = False


def all_rules() -> list[Rule]:
    """Every registered rule, sorted by id (imports every module under ``lint.rules``)."""
    global _loaded
    if not _loaded:
        from llmfleet.pipeline.lint import rules as package

        for module in pkgutil.iter_modules(package.__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package.__name__}.{module.name}")
        _loaded = True
    return sorted(registered().values(), key=lambda r: r.id)


def get_rule(rule_id: str) -> Rule:
    return {r.id: r for r in all_rules()}[rule_id]


def all_checks() -> list[Rule | BuiltinCheck]:
    """Rules and built-in ids, sorted by id."""
    return sorted([*all_rules(), *BUILTINS.values()], key=lambda c: c.id)


def close_matches(rule_id: str) -> list[str]:
    return difflib.get_close_matches(rule_id, [c.id for c in all_checks()], n=3, cutoff=0.6)


def unknown_ids(ids: list[str]) -> list[str]:
    known = {c.id for c in all_checks()}
    return [i for i in ids if i not in known]
