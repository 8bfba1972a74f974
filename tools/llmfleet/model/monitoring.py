"""Monitoring objects: PrometheusRule rules, the PromQL of scalers, rules and dashboards
(each parsed once), PodMonitor and ServiceMonitor selectors (prometheus-operator
monitoring.coreos.com/v1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llmfleet.model.k8s import Resource, as_dict, as_list, dig, escape_pointer_token
from llmfleet.model.promql import Query, parse_query


@dataclass(frozen=True)
class RuleItem:
    """One alerting or recording rule of a PrometheusRule."""

    resource: Resource
    group_index: int
    rule_index: int
    data: dict[str, Any]

    @property
    def path(self) -> str:
        return f"/spec/groups/{self.group_index}/rules/{self.rule_index}"

    @property
    def alert(self) -> str:
        return str(self.data.get("alert") or "")

    @property
    def record(self) -> str:
        return str(self.data.get("record") or "")

    @property
    def expr(self) -> Query | None:
        raw = self.data.get("expr")
        if raw is None:
            return None
        return parse_query(raw if isinstance(raw, str) else str(raw))


def rule_items(res: Resource) -> Iterator[RuleItem]:
    for gi, group in enumerate(as_list(dig(res.data, "spec", "groups"))):
        for ri, item in enumerate(as_list(dig(group, "rules"))):
            if isinstance(item, dict):
                yield RuleItem(res, gi, ri, item)


def rule_groups(res: Resource) -> list[Any]:
    groups = dig(res.data, "spec", "groups")
    return groups if isinstance(groups, list) else []


def rule_groups_key(groups: list[Any]) -> str:
    """The identity of a rule file's content: tool results (promtool) are keyed on it."""
    return json.dumps(groups, sort_keys=True, default=str)


@dataclass(frozen=True)
class QueryRef:
    """A PromQL expression in an object: where it is and what it says."""

    resource: Resource
    path: str
    query: Query
    origin: str  # "scaler", "rule" or "dashboard"


#: Grafana's built-in interval variables, replaced (plain string replacement) by a duration so
#: that a dashboard query parses as PromQL; label values such as "$model" parse as they are.
GRAFANA_INTERVALS = (
    "${__rate_interval}",
    "$__rate_interval",
    "${__interval}",
    "$__interval",
    "${__range}",
    "$__range",
)


def dashboard_queries(res: Resource) -> Iterator[QueryRef]:
    """``expr`` of every panel of a Grafana dashboard JSON held by a ConfigMap (the grafana
    sidecar's ``grafana_dashboard`` label, or any ``*.json`` key)."""
    if res.kind != "ConfigMap":
        return
    for key, text in as_dict(res.data.get("data")).items():
        if not isinstance(text, str) or not (str(key).endswith(".json") or "grafana_dashboard" in res.labels):
            continue
        try:
            board = json.loads(text)
        except (ValueError, RecursionError):
            continue
        pointer = f"/data/{escape_pointer_token(key)}"
        for expr in _json_exprs(board):
            for variable in GRAFANA_INTERVALS:
                expr = expr.replace(variable, "5m")
            yield QueryRef(res, pointer, parse_query(expr), "dashboard")


def _json_exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str) and value.strip():
                yield value
            else:
                yield from _json_exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _json_exprs(value)


#: Monitors: kind → (pointer of the selector, selector keys, endpoints key).
MONITORS = {
    "PodMonitor": ("/spec/selector", ("spec", "selector"), "podMetricsEndpoints"),
    "ServiceMonitor": ("/spec/selector", ("spec", "selector"), "endpoints"),
}


@dataclass(frozen=True)
class Monitor:
    resource: Resource

    @property
    def selector(self) -> Any:
        return dig(self.resource.data, *MONITORS[self.resource.kind][1])

    @property
    def endpoints(self) -> list[tuple[int, dict[str, Any]]]:
        key = MONITORS[self.resource.kind][2]
        return [
            (i, e) for i, e in enumerate(as_list(dig(self.resource.data, "spec", key))) if isinstance(e, dict)
        ]

    @property
    def endpoints_key(self) -> str:
        return MONITORS[self.resource.kind][2]

    def namespaces(self) -> list[str] | None:
        """Namespaces it watches: ``namespaceSelector.matchNames``, its own namespace by
        default, or None for ``any: true``."""
        selector = as_dict(dig(self.resource.data, "spec", "namespaceSelector"))
        if selector.get("any") is True:
            return None
        names = [str(n) for n in as_list(selector.get("matchNames"))]
        return names or [self.resource.namespace]
