"""promql-syntax: every autoscaling query and alert expression must parse.

A ScaledObject's prometheus query is only parsed when KEDA builds the scaler, and a
PrometheusRule is only loaded by Prometheus after the operator syncs it: a typo surfaces in
production, as a scaler error or a silently missing alert
(docs/reference/tooling.md §8: trigger errors "surface only at reconcile time").  Each query is parsed with
the ``promql-parser`` package (the Rust prometheus-parser), and each PrometheusRule's
``spec.groups`` is also run through ``promtool check rules`` (written to a temporary rule
file as ``{"groups": …}``, the standard workaround for the CRD: docs/reference/tooling.md §6), which checks
what the parser does not: rule names, durations, labels, templates.  Grafana dashboard
queries in ConfigMaps are parsed too (a warning: Grafana shows the error in the panel), with
its interval variables (``$__rate_interval``…) read as a duration.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="promql-syntax",
    severity=Severity.ERROR,
    description="A ScaledObject query or PrometheusRule expr does not parse (a dashboard query "
    "that does not parse is a warning)",
    remediation="Fix the expression; `promtool check rules` on the rendered spec shows the same error.",
    rationale="Prometheus refuses to load a rule file with one bad expression (every alert in "
    "it is lost), and KEDA's scaler errors on every poll (docs/reference/tooling.md §6).",
    category="monitor",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        expr: sum(vllm:num_requests_waiting{model_name="m"}) > 10

    Failing (``/spec/groups/0/rules/0/expr``)::

        expr: sum(vllm:num_requests_waiting{model_name="m"} > 10
    """
    for ref in model.queries:
        if ref.query.error is not None:
            yield Problem(ref.resource, ref.path, f"PromQL does not parse: {ref.query.error}")
    for ref in model.dashboard_queries:
        if ref.query.error is not None:
            yield Problem(
                ref.resource,
                ref.path,
                f"a dashboard query does not parse: {ref.query.error}: {ref.query.text}",
                Severity.WARNING,
            )
