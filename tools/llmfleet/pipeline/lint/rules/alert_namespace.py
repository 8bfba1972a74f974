"""alert-namespace: a model's alerts must watch the namespace the model runs in.

The PrometheusRule that ships with a model (in the model's own namespace) filters its series
on ``namespace="..."``.  When an overlay moves the model to another namespace (kustomize
``namespace:``), the PromQL strings do not follow: the alerts watch a namespace where nothing
runs and never fire.  A PrometheusRule kept elsewhere (a central monitoring namespace) is not
judged: there a different namespace is the point.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="alert-namespace",
    severity=Severity.ERROR,
    description='A PrometheusRule in a model\'s namespace filters on namespace="X" where X is '
    "not that namespace",
    remediation="Use the namespace the model runs in (a kustomize replacement from the "
    "namespace, as base/transformers does for the model name), or move the "
    "PrometheusRule to a central namespace on purpose.",
    rationale="An alert on another namespace's series never fires for this model: the outage "
    "it was written for goes unnoticed.",
    category="monitor",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (the PrometheusRule and the vLLM pods in ``llm``)::

        expr: sum(vllm:num_requests_waiting{namespace="llm", model_name="m"}) > 10

    Failing (``/spec/groups/0/rules/0/expr``; the overlay moved the model to ``llm``)::

        expr: sum(vllm:num_requests_waiting{namespace="inference", model_name="m"}) > 10
    """
    model_namespaces = {s.template.namespace for s in model.servers if s.template.namespace}
    for item in model.rule_items:
        namespace = item.resource.namespace
        if not namespace or namespace not in model_namespaces:
            continue
        query = item.expr
        if query is None or not query.ok:
            continue
        others = sorted(
            {
                value
                for sel in query.selectors
                for label, op, value in sel.matchers
                if label == "namespace" and op == "=" and value != namespace
            }
        )
        if others:
            yield Problem(
                item.resource,
                f"{item.path}/expr",
                f"rule {item.alert or item.record or item.rule_index} filters on namespace "
                f"{', '.join(repr(o) for o in others)}, but it and the model run in "
                f"{namespace!r}: it watches series that are not this model's",
            )
