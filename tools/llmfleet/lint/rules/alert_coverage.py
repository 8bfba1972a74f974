"""alert-coverage: every served model needs alerts on queue depth, latency and availability.

The three signals that tell an LLM endpoint is failing its users, from vLLM's metrics
(docs/reference/vllm-0.33.md §1.2): requests piling up (``vllm:num_requests_waiting``),
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

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import regex_full_match, rule_items, vllm_workloads
from llmfleet.vllm import promql

QUEUE = {"vllm:num_requests_waiting", "vllm:num_requests_waiting_by_reason"}
LATENCY_BASES = ("vllm:e2e_request_latency_seconds", "vllm:time_to_first_token_seconds",
                 "vllm:inter_token_latency_seconds", "vllm:request_queue_time_seconds",
                 "vllm:request_time_per_output_token_seconds")
LATENCY = {b + s for b in LATENCY_BASES for s in ("_bucket", "_sum", "_count")}
AVAILABILITY = {"kube_deployment_status_replicas_available",
                "kube_deployment_status_replicas_unavailable",
                "kube_deployment_status_replicas_ready",
                "kube_statefulset_status_replicas_ready",
                "kube_statefulset_status_replicas_available", "up"}


def _matches(selector: promql.Selector, label: str, value: str) -> bool:
    relevant = [(op, v) for name, op, v in selector.matchers if name == label]
    if not relevant:
        return True
    for op, pattern in relevant:
        if op == "=" and pattern != value:
            return False
        if op == "=~" and not regex_full_match(pattern, value):
            return False
        if op == "!=" and pattern == value:
            return False
        if op == "!~" and regex_full_match(pattern, value):
            return False
    return True


def _alert_selectors(ctx):
    for res in ctx.of_kind("PrometheusRule"):
        for _gi, _ri, item in rule_items(res):
            if not item.get("alert") or not isinstance(item.get("expr"), str):
                continue
            try:
                yield from promql.selectors(promql.parse(item["expr"]))
            except Exception:
                continue


@rule(id="alert-coverage", severity=Severity.WARNING,
      description="A served model has no alert on queue depth, on latency, or on available "
                  "replicas",
      remediation="Add PrometheusRule alerts for the model: vllm:num_requests_waiting, a latency "
                  "histogram_quantile over vllm:e2e_request_latency_seconds_bucket, and "
                  "kube_deployment_status_replicas_available (the monitoring component).",
      category="monitor")
def check(ctx):
    """Passing: a PrometheusRule with alerts on
    ``vllm:num_requests_waiting{model_name="m"}``,
    ``histogram_quantile(0.99, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{model_name="m"}[5m])))``
    and ``kube_deployment_status_replicas_available{deployment="vllm-m"}``.

    Failing (the Deployment, ``/spec/template/spec/containers/0``): no alert on one of them.
    """
    selectors = list(_alert_selectors(ctx))
    for workload, settings in vllm_workloads(ctx):
        model = settings.served_model_name
        missing = []
        for label, names in (("queue depth", QUEUE), ("latency", LATENCY)):
            if not any(s.name in names and _matches(s, "model_name", model) for s in selectors):
                missing.append(label)
        workload_label = "statefulset" if workload.resource.kind == "StatefulSet" else "deployment"
        if not any(s.name in AVAILABILITY and _matches(s, workload_label, workload.resource.name)
                   for s in selectors):
            missing.append("available replicas")
        if missing:
            yield Problem(workload.resource, settings.container.path,
                          f"served model {model or '<unknown>'!r} has no alert on "
                          f"{', '.join(missing)}")
