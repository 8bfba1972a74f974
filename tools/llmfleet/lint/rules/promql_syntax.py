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

import re

from llmfleet.findings import Severity
from llmfleet.lint.context import dig
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import dashboard_queries, prometheus_queries
from llmfleet.promtool import check_rule_groups, prefetch
from llmfleet.vllm.promql import parse_error

_RULE_REF = re.compile(r'group "(?P<group>[^"]*)", rule (?P<rule>\d+)')


def _promtool_problems(res):
    groups = dig(res.data, "spec", "groups")
    if not isinstance(groups, list) or not groups:
        return
    ok, output = check_rule_groups(groups)
    if ok:
        return
    names = {str(dig(g, "name")): gi for gi, g in enumerate(groups)}
    for line in output.splitlines():
        line = line.strip()
        if not line or line.startswith(("Checking", "FAILED")):
            continue
        message = line.replace("<PrometheusRule spec>: ", "").replace("<PrometheusRule spec>:", "")
        path = "/spec/groups"
        match = _RULE_REF.search(line)
        if match and match.group("group") in names:
            path = f"/spec/groups/{names[match.group('group')]}/rules/{int(match.group('rule')) - 1}"
        yield Problem(res, path, f"promtool check rules: {message}")


def _prefetch(contexts) -> None:
    prefetch([groups for ctx in contexts for res in ctx.of_kind("PrometheusRule")
              if isinstance(groups := dig(res.data, "spec", "groups"), list) and groups])


@rule(id="promql-syntax", severity=Severity.ERROR,
      description="A ScaledObject query or PrometheusRule expr does not parse, or promtool "
                  "check rules rejects the PrometheusRule",
      remediation="Fix the expression; `promtool check rules` on the rendered spec shows the "
                  "same error.",
      category="monitor", prepare=_prefetch)
def check(ctx):
    """Passing::

        expr: sum(vllm:num_requests_waiting{model_name="m"}) > 10

    Failing (``/spec/groups/0/rules/0/expr``)::

        expr: sum(vllm:num_requests_waiting{model_name="m"} > 10
    """
    failed_paths: set[tuple[int, str]] = set()
    for res, path, query in prometheus_queries(ctx):
        error = parse_error(query)
        if error is not None:
            failed_paths.add((id(res), path))
            yield Problem(res, path, f"PromQL does not parse: {error}")
    for res, path, query in dashboard_queries(ctx):
        error = parse_error(query)
        if error is not None:
            yield Problem(res, path, f"a dashboard query does not parse: {error}: {query}",
                          Severity.WARNING)
    for res in ctx.of_kind("PrometheusRule"):
        for problem in _promtool_problems(res):
            # the parser already reported this expression: do not repeat promtool's copy
            if "could not parse expression" in problem.message and \
                    (id(res), problem.path + "/expr") in failed_paths:
                continue
            yield problem
