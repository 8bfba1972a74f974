"""Label selectors (k8s.io/apimachinery pkg/apis/meta/v1/validation ValidateLabelSelector,
LabelSelectorAsSelector) and whether one selects a template's labels."""

from __future__ import annotations

from typing import Any

from llmfleet.kube import names
from llmfleet.model.k8s import selector_matches
from llmfleet.pipeline.validate.api_rules.metadata import check_labels
from llmfleet.pipeline.validate.api_rules.problems import Problems

_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


def check_selector(selector: Any, path: tuple[Any, ...], problems: Problems) -> bool:
    """Problems of a LabelSelector; True when it is well-formed enough to be evaluated."""
    if not isinstance(selector, dict):
        return False
    before = len(problems.items)
    check_labels(selector.get("matchLabels"), (*path, "matchLabels"), problems)
    expressions = selector.get("matchExpressions")
    for i, expr in enumerate(expressions if isinstance(expressions, list) else []):
        if not isinstance(expr, dict):
            continue
        where = (*path, "matchExpressions", i)
        operator, values = expr.get("operator"), expr.get("values")
        count = len(values) if isinstance(values, list) else 0
        if operator in ("In", "NotIn") and count == 0:
            problems.add((*where, "values"), "must be specified when `operator` is 'In' or 'NotIn'")
        elif operator in ("Exists", "DoesNotExist") and count:
            problems.add(
                (*where, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )
        elif isinstance(operator, str) and operator not in _OPERATORS:
            problems.add((*where, "operator"), "not a valid selector operator")
        if isinstance(expr.get("key"), str):
            problems.extend((*where, "key"), names.qualified_name(expr["key"]))
        for j, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, str):
                problems.extend((*where, "values", j), names.label_value(value))
    return len(problems.items) == before


def check_selects_template(
    spec: dict[str, Any], path: tuple[Any, ...], problems: Problems, what: str
) -> None:
    """A controller's selector: required, not empty, and matching its template's labels."""
    selector = spec.get("selector")
    if selector is None:
        problems.add((*path, "selector"), "Required value")
        return
    if not check_selector(selector, (*path, "selector"), problems):
        return
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        problems.add((*path, "selector"), f"empty selector is invalid for {what}")
        return
    template = spec.get("template")
    meta = template.get("metadata") if isinstance(template, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    labels = labels if isinstance(labels, dict) else {}
    if not selector_matches(selector, labels):
        problems.add((*path, "template", "metadata", "labels"), "`selector` does not match template `labels`")
