"""PromQL through the ``promql-parser`` package (the Rust prometheus-parser bindings): parse,
then walk the AST; never regular expressions over query text."""

from __future__ import annotations

from dataclasses import dataclass, field

import promql_parser


@dataclass
class Selector:
    """One vector selector of a query."""

    name: str                                    # metric name ("" when only matchers)
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


def parse(query: str):
    """The AST, or raises ValueError with the parser's message."""
    return promql_parser.parse(query)


def parse_error(query) -> str | None:
    if not isinstance(query, str) or not query.strip():
        return "the query is empty"
    try:
        promql_parser.parse(query)
    except Exception as exc:  # the bindings raise ValueError; be safe with others
        return str(exc) or type(exc).__name__
    return None


_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def _op(matcher) -> str:
    text = str(matcher.op).rsplit(".", 1)[-1]
    return _OPS.get(text, text)


def _convert(matchers) -> list[tuple[str, str, str]]:
    return [(str(m.name), _op(m), str(m.value)) for m in matchers]


def selectors(expr) -> list[Selector]:
    """Every vector selector in the expression (matrix selectors and subqueries included)."""
    found: list[Selector] = []

    def visit(node):
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


def histogram_quantile_inputs(expr) -> list[Selector]:
    """Selectors inside the second argument of every ``histogram_quantile`` call."""
    found: list[Selector] = []

    def visit(node):
        if isinstance(node, promql_parser.Call) and getattr(node.func, "name", "") == "histogram_quantile":
            args = list(node.args or [])
            if len(args) >= 2:
                found.extend(selectors(args[1]))
        return True

    promql_parser.walk(expr, visit)
    return found


def metric_names(query: str) -> list[str]:
    try:
        return [s.name for s in selectors(parse(query)) if s.name]
    except Exception:
        return []
