"""scaler-query-scope: an autoscaling query must measure its own model in its own namespace.

A KEDA prometheus trigger runs its query against a Prometheus that sees every namespace and
every model.  vLLM labels its metrics with ``model_name`` (the first
``--served-model-name``, else the model id: docs/reference/vllm-0.33.md §1.1), and
Prometheus adds the scrape target's ``namespace``.  A query without both matchers sums the
queue of every model in the cluster and scales this one on the others' load; KEDA also needs
a single-element result (docs/reference/tooling.md §8).  The check walks the PromQL AST (promql-parser) and
requires, on every ``vllm:`` selector, ``model_name`` equal to (or a regex fully matching) the
served model name and ``namespace`` equal to (or matching) the ScaledObject's namespace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from llmfleet.lint.api import Options, OverlayModel, Problem, Severity, rule
from llmfleet.model.promql import Selector


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


@rule(id="scaler-query-scope", severity=Severity.ERROR,
      description="A ScaledObject prometheus query does not select the target's served model "
                  "(model_name) and namespace",
      remediation="Filter every vllm: selector with model_name=\"<served-model-name>\" and "
                  "namespace=\"<namespace>\", e.g. "
                  "sum(vllm:num_requests_waiting{model_name=\"m\",namespace=\"ns\"}).",
      rationale="KEDA divides the query's value by the target per replica: a query that also "
                "counts other models' or namespaces' queues scales this model for their load "
                "(docs/reference/tooling.md §8).",
      category="scaler")
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (served model ``llama``, namespace ``llm``)::

        query: sum(vllm:num_requests_waiting{model_name="llama", namespace="llm"})

    Failing (``/spec/triggers/0/metadata/query``)::

        query: sum(vllm:num_requests_waiting)
    """
    for scaler in model.scaled_objects:
        workload = scaler.target
        if workload is None:
            continue
        served = [s.served_model_name for s in model.servers_in(workload) if s.served_model_name]
        namespace = scaler.resource.namespace
        for trigger in scaler.triggers:
            query = trigger.query
            if query is None or not query.ok:
                continue  # promql-syntax reports a query that does not parse
            checked = [s for s in query.selectors if s.name.startswith("vllm:")] or query.selectors
            missing = set()
            for sel in checked:
                if served and not any(selects(sel, "model_name", m) for m in served):
                    missing.add(f"model_name=\"{served[0]}\"")
                if namespace and not selects(sel, "namespace", namespace):
                    missing.add(f"namespace=\"{namespace}\"")
            if missing:
                yield Problem(scaler.resource, f"{trigger.path}/metadata/query",
                              f"the query of trigger {trigger.index} does not filter on "
                              f"{' and '.join(sorted(missing))}: it measures other models or "
                              "namespaces too")
