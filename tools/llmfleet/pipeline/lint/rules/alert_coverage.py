"""alert-coverage: every served model needs alerts on queue depth, latency and availability.

The three signals that tell an LLM endpoint is failing its users, from vLLM's metrics
(docs/reference/vllm.md §1.2): requests piling up (``vllm:num_requests_waiting``),
latency (the ``vllm:e2e_request_latency_seconds``, ``vllm:time_to_first_token_seconds``,
``vllm:inter_token_latency_seconds`` or ``vllm:request_queue_time_seconds`` histograms), and
replicas available (kube-state-metrics ``kube_deployment_status_replicas_available`` /
``_unavailable`` or the StatefulSet equivalents, or ``up``).  ``/health`` stays 200 on a hung
engine (§3.3, §5.7), so alerts on these metrics are the safety net.  An alert covers a
model when its vLLM selectors have no ``model_name`` matcher (all models) or one that matches
the served model name; an availability alert covers a workload when its
``deployment``/``statefulset`` matcher, if any, matches the workload's name.  Only
``alert:`` rules count.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from llmfleet.model.promql import Selector
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

QUEUE = {"vllm:num_requests_waiting", "vllm:num_requests_waiting_by_reason"}
LATENCY_BASES = (
    "vllm:e2e_request_latency_seconds",
    "vllm:time_to_first_token_seconds",
    "vllm:inter_token_latency_seconds",
    "vllm:request_queue_time_seconds",
    "vllm:request_time_per_output_token_seconds",
)
LATENCY = {b + s for b in LATENCY_BASES for s in ("_bucket", "_sum", "_count")}
AVAILABILITY = {
    "kube_deployment_status_replicas_available",
    "kube_deployment_status_replicas_unavailable",
    "kube_deployment_status_replicas_ready",
    "kube_statefulset_status_replicas_ready",
    "kube_statefulset_status_replicas_available",
    "up",
}
WORKLOAD_LABEL = {"StatefulSet": "statefulset", "Deployment": "deployment"}


def _full_match(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def _matches(selector: Selector, label: str, value: str) -> bool:
    relevant = [(op, v) for name, op, v in selector.matchers if name == label]
    for op, pattern in relevant:
        if op == "=" and pattern != value:
            return False
        if op == "=~" and not _full_match(pattern, value):
            return False
        if op == "!=" and pattern == value:
            return False
        if op == "!~" and _full_match(pattern, value):
            return False
    return True


@rule(
    id="alert-coverage",
    severity=Severity.WARNING,
    description="A served model has no alert on queue depth, on latency, or on available replicas",
    remediation="Add PrometheusRule alerts for the model: vllm:num_requests_waiting, a latency "
    "histogram_quantile over vllm:e2e_request_latency_seconds_bucket, and "
    "kube_deployment_status_replicas_available (the monitoring component).",
    rationale="These three fail first when a model is overloaded, slow or down; without them "
    "the first signal is a user's complaint (docs/reference/vllm.md §1.2).",
    category="monitor",
    foreign="off",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing: a PrometheusRule with alerts on
    ``vllm:num_requests_waiting{model_name="m"}``,
    ``histogram_quantile(0.99, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{model_name="m"}[5m])))``
    and ``kube_deployment_status_replicas_available{deployment="vllm-m"}``.

    Failing (the Deployment, ``/spec/template/spec/containers/0``): no alert on one of them.
    """
    selectors = [
        s for item in model.rule_items if item.alert and (q := item.expr) is not None for s in q.selectors
    ]
    for server in model.api_servers:
        served = server.served_model_name
        if not served:
            continue  # the model name depends on a value the input does not hold
        missing = []
        for label, names in (("queue depth", QUEUE), ("latency", LATENCY)):
            if not any(s.name in names and _matches(s, "model_name", served) for s in selectors):
                missing.append(label)
        workload = server.workload
        label_name = WORKLOAD_LABEL.get(workload.kind)
        if label_name is not None and not any(
            s.name in AVAILABILITY and _matches(s, label_name, workload.name) for s in selectors
        ):
            missing.append("available replicas")
        if missing:
            yield Problem(
                server.resource,
                server.container.path,
                f"served model {served!r} has no alert on {', '.join(missing)}",
            )
