"""scaler-query-scope: an autoscaling query must measure its own model in its own namespace.

A KEDA prometheus trigger runs its query against a Prometheus that sees every namespace and
every model.  vLLM labels its metrics with ``model_name`` (the first
``--served-model-name``, else the model id: docs/reference/vllm.md §1.1), and
Prometheus adds the scrape target's ``namespace``.  A query without both matchers sums the
queue of every model in the cluster and scales this one on the others' load; KEDA also needs
a single-element result (docs/reference/tooling.md §8).  The check walks the PromQL AST (promql-parser) and
requires, on every ``vllm:`` selector, ``model_name`` equal to (or a regex fully matching) the
served model name and ``namespace`` equal to (or matching) the ScaledObject's namespace.
A missing filter is an error only when the input shows another model whose series the query
can match (another served model in the namespace, or anywhere when the namespace is not
filtered either); otherwise it is a warning that says so: with one model in the namespace
the query returns that model's series today, and counts the next model deployed beside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import promql_parser

from llmfleet.model.promql import Query, Selector, parse_query
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


def _full_match(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def selects(selector: Selector, label: str, value: str) -> bool:
    for group in selector.groups():
        ok = False
        for name, op, pattern in group:
            if name != label:
                continue
            if op == "=" and pattern == value:
                ok = True
            elif op == "=~" and _full_match(pattern, value):
                ok = True
        if not ok:
            return False
    return True


#: Labels that scope a query to the target's own pods when the served model is not known.
POD_SCOPE_LABELS = ("model_name", "pod", "pod_name", "service", "job", "deployment", "instance")
#: Aggregations that return one element whatever the input (without by/without).
SINGLE = {"sum", "max", "min", "avg", "count", "stddev", "stdvar", "quantile", "group"}


def multi_series(query: Query) -> str | None:
    """Why a query may return more than one element, or None when it returns one number."""
    node = query.ast
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    if isinstance(node, (promql_parser.NumberLiteral, promql_parser.StringLiteral)):
        return None
    if isinstance(node, promql_parser.Call) and getattr(node.func, "name", "") in ("scalar", "vector"):
        return None
    if isinstance(node, promql_parser.BinaryExpr):
        left = multi_series(parse_query(str(node.lhs)))
        right = multi_series(parse_query(str(node.rhs)))
        return left or right
    if isinstance(node, promql_parser.AggregateExpr):
        op = str(node.op).lower().rsplit(".", 1)[-1].strip()
        modifier = node.modifier
        labels = list(getattr(modifier, "labels", None) or []) if modifier is not None else []
        grouping = str(getattr(modifier, "type", "")).lower()
        if op in SINGLE and not labels and "without" not in grouping:
            return None
        if op in SINGLE and "without" not in grouping:
            return f"{op} by ({', '.join(labels)}) returns one series per {', '.join(labels)}"
        return f"{op} can return several series"
    return "it is not aggregated: it returns one series per pod (and engine)"


def _other_models(model: OverlayModel, served: list[str], namespace: str, any_namespace: bool) -> list[str]:
    """Served models of the input, other than ``served``, whose series the query can match."""
    found = []
    for server in model.api_servers:
        name = server.served_model_name
        if not name or name in served:
            continue
        if any_namespace or server.template.namespace == namespace:
            found.append(f"model {name!r} ({server.resource.ref})")
    return sorted(set(found))


@rule(
    id="scaler-query-scope",
    severity=Severity.ERROR,
    description="A ScaledObject prometheus query may return more than one series, or does not "
    "select the target's served model (model_name) or pods and its namespace",
    remediation="Aggregate to one number and filter every vllm: selector with "
    'model_name="<served-model-name>" and namespace="<namespace>", e.g. '
    'sum(vllm:num_requests_waiting{model_name="m",namespace="ns"}).',
    rationale="KEDA's Prometheus scaler errors when a query returns more than one element, and "
    "divides the value by the target per replica: a query that also counts other "
    "models' or namespaces' queues scales this model for their load "
    "(docs/reference/tooling.md §8).",
    category="scaler",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (served model ``llama``, namespace ``llm``)::

        query: sum(vllm:num_requests_waiting{model_name="llama", namespace="llm"})

    Failing (``/spec/triggers/0/metadata/query``)::

        query: sum(vllm:num_requests_waiting)

    Failing (``/spec/triggers/0/metadata/query``; one series per pod)::

        query: vllm:num_requests_waiting{model_name="llama", namespace="llm"}
    """
    for scaler in model.scaled_objects:
        workload = scaler.target
        served = (
            [s.served_model_name for s in model.servers_in(workload) if s.served_model_name]
            if workload is not None
            else []
        )
        namespace = scaler.resource.namespace
        for trigger in scaler.triggers:
            query = trigger.query
            if query is None or not query.ok:
                continue  # promql-syntax reports a query that does not parse
            path = f"{trigger.path}/metadata/query"
            several = multi_series(query)
            if several:
                yield Problem(
                    scaler.resource,
                    path,
                    f"the query of trigger {trigger.index} may return more than one series "
                    f"({several}): KEDA's prometheus scaler fails when a query returns more "
                    "than one element; wrap it in sum(...)",
                )
            checked = [s for s in query.selectors if s.name.startswith("vllm:")] or query.selectors
            missing = set()
            for sel in checked:
                if served:
                    if not any(selects(sel, "model_name", m) for m in served):
                        missing.add(f'model_name="{served[0]}"')
                elif not any(sel.has_label(label) for label in POD_SCOPE_LABELS):
                    missing.add("model_name (or the target's pods)")
                if namespace and not selects(sel, "namespace", namespace):
                    missing.add(f'namespace="{namespace}"')
                elif not namespace and not sel.has_label("namespace"):
                    missing.add("namespace")
            if missing:
                others = _other_models(model, served, namespace, any("namespace" in m for m in missing))
                yield Problem(
                    scaler.resource,
                    path,
                    f"the query of trigger {trigger.index} does not filter on "
                    f"{' and '.join(sorted(missing))}: "
                    + (
                        f"it also measures {', '.join(others)}"
                        if others
                        else "no other model in this input matches it today, but it would "
                        "measure any model deployed beside this one"
                    ),
                    None if others else Severity.WARNING,
                )
