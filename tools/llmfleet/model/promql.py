"""PromQL through the ``promql-parser`` package (the Rust prometheus-parser bindings): every
expression parsed once, keeping its parse error; then walk the AST, never regular
expressions over query text."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import promql_parser


@dataclass
class Selector:
    """One vector selector of a query."""

    name: str  # metric name ("" when only matchers)
    matchers: list[tuple[str, str, str]] = field(default_factory=list)  # (label, op, value)
    alternatives: list[list[tuple[str, str, str]]] = field(default_factory=list)  # `or` groups

    def equal_value(self, label: str) -> str | None:
        """The value ``label`` must equal (``=``), or None."""
        for name, op, value in self.matchers:
            if name == label and op == "=":
                return value
        return None

    def has_label(self, label: str) -> bool:
        return any(name == label for name, _, _ in self.matchers)

    def groups(self) -> list[list[tuple[str, str, str]]]:
        return [self.matchers, *self.alternatives] if self.alternatives else [self.matchers]


@dataclass(frozen=True)
class Query:
    """A PromQL expression: its text, AST (None when it does not parse) and parse error."""

    text: str
    ast: Any
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @cached_property
    def selectors(self) -> list[Selector]:
        return selectors(self.ast) if self.ast is not None else []

    @cached_property
    def metric_names(self) -> list[str]:
        return [s.name for s in self.selectors if s.name]

    @property
    def top_aggregation(self) -> Any:
        """The outermost aggregation (``sum``, ``max``, ...) when the expression is one,
        looking through parentheses; None otherwise."""
        node = self.ast
        while isinstance(node, promql_parser.ParenExpr):
            node = node.expr
        return node if isinstance(node, promql_parser.AggregateExpr) else None


@lru_cache(maxsize=4096)
def parse_query(text: str) -> Query:
    """Parse once per distinct text."""
    if not isinstance(text, str) or not text.strip():
        return Query(str(text or ""), None, "the query is empty")
    try:
        return Query(text, promql_parser.parse(text), None)
    except Exception as exc:  # the bindings raise ValueError; be safe with others
        return Query(text, None, str(exc) or type(exc).__name__)


def parse(query: str) -> Any:
    """The AST, or raises ValueError with the parser's message."""
    parsed = parse_query(query)
    if parsed.error is not None:
        raise ValueError(parsed.error)
    return parsed.ast


def parse_error(query: Any) -> str | None:
    return parse_query(query if isinstance(query, str) else "").error


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _op(matcher: Any) -> str:
    text = str(matcher.op).rsplit(".", 1)[-1]
    return _OPS.get(text, text)


def _convert(matchers: Any) -> list[tuple[str, str, str]]:
    return [(str(m.name), _op(m), str(m.value)) for m in matchers]


def selectors(expr: Any) -> list[Selector]:
    """Every vector selector in the expression (matrix selectors and subqueries included)."""
    found: list[Selector] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            group = node.matchers
            matchers = _convert(group.matchers) if group is not None else []
            alternatives = [_convert(g) for g in (group.or_matchers or [])] if group is not None else []
            name = node.name or ""
            if not name:
                for label, op, value in matchers:
                    if label == "__name__" and op == "=":
                        name = value
            found.append(Selector(str(name), matchers, alternatives))
        return True

    promql_parser.walk(expr, visit)
    return found


def histogram_quantile_inputs(expr: Any) -> list[Selector]:
    """Selectors inside the second argument of every ``histogram_quantile`` call."""
    found: list[Selector] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.Call) and getattr(node.func, "name", "") == "histogram_quantile":
            args = list(node.args or [])
            if len(args) >= 2:
                found.extend(selectors(args[1]))
        return True

    promql_parser.walk(expr, visit)
    return found


def metric_names(query: str) -> list[str]:
    return parse_query(query).metric_names
