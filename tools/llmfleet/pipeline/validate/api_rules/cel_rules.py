"""A CRD's own rules: the ``x-kubernetes-validations`` CEL expressions of its schema,
evaluated with a real CEL implementation (cel-python) as the API server evaluates them on
create (apiextensions-apiserver pkg/apiserver/schema/cel/validation.go): at every node of the
object whose schema carries rules, with ``self`` bound to that node.  Transition rules (they
read ``oldSelf``) only run on update and are left out.  docs/reference/api-validation.md §9."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from llmfleet.pipeline.validate.api_rules.problems import Problems
from llmfleet.pipeline.validate.api_rules.structural import check_list_types, with_defaults

_RULES_KEY = "x-kubernetes-validations"
_lock = threading.Lock()
_compiled: dict[str, Any] = {}


class UnsupportedRule(Exception):
    """cel-python cannot compile the rule (a Kubernetes CEL library function it lacks)."""


def _split(text: Any, separator: Any, limit: Any = None) -> Any:
    """Kubernetes' strings extension ``split`` (cel-go ext/strings.go)."""
    import celpy

    parts = (
        str(text).split(str(separator)) if limit is None else str(text).split(str(separator), int(limit) - 1)
    )
    return celpy.celtypes.ListType([celpy.celtypes.StringType(p) for p in parts])


_FUNCTIONS = {"split": _split}


def _program(rule: str) -> Any:
    with _lock:
        if rule not in _compiled:
            import celpy

            env = celpy.Environment()
            try:
                _compiled[rule] = env.program(env.compile(rule), functions=_FUNCTIONS)
            except Exception as exc:  # cel-python raises its own parse errors
                _compiled[rule] = UnsupportedRule(f"{type(exc).__name__}: {exc}")
        found = _compiled[rule]
    if isinstance(found, UnsupportedRule):
        raise found
    return found


def rule_holds(rule: str, value: Any) -> bool | None:
    """True or False, or None when the evaluation fails (the server reports such a rule as an
    error of its own; llmfleet does not guess)."""
    import celpy

    try:
        result = _program(rule).evaluate({"self": celpy.json_to_cel(value)})
    except UnsupportedRule:
        raise
    except Exception:  # an evaluation error (no such key, no such overload)
        return None
    if isinstance(result, Exception):
        return None
    return bool(result)


@dataclass(frozen=True)
class Rule:
    rule: str
    message: str
    field_path: str


def _rules_of(schema: dict[str, Any]) -> list[Rule]:
    rules = []
    for item in schema.get(_RULES_KEY) or []:
        if not isinstance(item, dict) or not isinstance(item.get("rule"), str):
            continue
        if "oldSelf" in item["rule"]:
            continue
        message = item.get("message") or f"failed rule: {item['rule']}"
        rules.append(Rule(item["rule"], str(message), str(item.get("fieldPath", ""))))
    return rules


def _field_path(field_path: str) -> tuple[str, ...]:
    return tuple(p for p in field_path.lstrip(".").split(".") if p) if field_path else ()


def check_custom_resource(schema: Any, value: Any, problems: Problems) -> None:
    """The rules of a custom resource, on the object as the server sees it: defaulted first."""
    check_rules(schema, with_defaults(schema, value), (), problems)


def check_rules(schema: Any, value: Any, path: tuple[Any, ...], problems: Problems) -> None:
    """Walk ``value`` with its structural ``schema``: evaluate every rule on the way and check
    the list types."""
    if not isinstance(schema, dict) or value is None:
        return
    for rule in _rules_of(schema):
        try:
            holds = rule_holds(rule.rule, value)
        except UnsupportedRule:
            continue  # tests/test_api_validation.py compiles every vendored rule
        if holds is False:
            problems.add((*path, *_field_path(rule.field_path)), rule.message)
    if isinstance(value, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict):
            for key, child in value.items():
                if key in properties:
                    check_rules(properties[key], child, (*path, key), problems)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, child in value.items():
                if not isinstance(properties, dict) or key not in properties:
                    check_rules(extra, child, (*path, key), problems)
    elif isinstance(value, list):
        check_list_types(schema, value, path, problems)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, child in enumerate(value):
                check_rules(items, child, (*path, i), problems)


def schema_rules(schema: Any) -> list[str]:
    """Every rule in a schema (for the test that each one compiles)."""
    found: list[str] = []
    if isinstance(schema, dict):
        found += [r.rule for r in _rules_of(schema)]
        for child in schema.values():
            found += schema_rules(child)
    elif isinstance(schema, list):
        for child in schema:
            found += schema_rules(child)
    return found
