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

from llmfleet.findings import Severity
from llmfleet.lint.context import dig
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import regex_full_match, resolve_target, settings_for, triggers
from llmfleet.vllm import promql


def selects(selector: promql.Selector, label: str, value: str) -> bool:
    groups = [selector.matchers] + selector.alternatives if selector.alternatives else [selector.matchers]
    for group in groups:
        ok = False
        for name, op, pattern in group:
            if name != label:
                continue
            if op == "=" and pattern == value:
                ok = True
            elif op == "=~" and regex_full_match(pattern, value):
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
      category="scaler")
def check(ctx):
    """Passing (served model ``llama``, namespace ``llm``)::

        query: sum(vllm:num_requests_waiting{model_name="llama", namespace="llm"})

    Failing (``/spec/triggers/0/metadata/query``)::

        query: sum(vllm:num_requests_waiting)
    """
    for scaled in ctx.of_kind("ScaledObject"):
        workload, _ = resolve_target(ctx, scaled)
        if workload is None:
            continue
        served = [s.served_model_name for s in settings_for(ctx, workload) if s.served_model_name]
        for i, trig in triggers(scaled):
            query = dig(trig, "metadata", "query")
            if trig.get("type") != "prometheus" or not isinstance(query, str):
                continue
            try:
                selectors = promql.selectors(promql.parse(query))
            except Exception:
                continue  # promql-syntax reports it
            checked = [s for s in selectors if s.name.startswith("vllm:")] or selectors
            missing = set()
            for sel in checked:
                if served and not any(selects(sel, "model_name", m) for m in served):
                    missing.add(f"model_name=\"{served[0]}\"")
                if scaled.namespace and not selects(sel, "namespace", scaled.namespace):
                    missing.add(f"namespace=\"{scaled.namespace}\"")
            if missing:
                yield Problem(scaled, f"/spec/triggers/{i}/metadata/query",
                              f"the query of trigger {i} does not filter on "
                              f"{' and '.join(sorted(missing))}: it measures other models or "
                              "namespaces too")
