"""vllm-metrics-disabled: ``--disable-log-stats`` removes every ``vllm:`` metric.

vLLM builds its Prometheus stat logger only when stats logging is on, so with
``--disable-log-stats`` ``/metrics`` keeps only the ``http_*`` series
(docs/reference/vllm-0.33.md §1.1, src vllm/v1/engine/async_llm.py).  A PodMonitor or
ServiceMonitor that scrapes the pods then collects nothing useful, and a ScaledObject or an
alert on ``vllm:`` metrics sees no data (a KEDA prometheus query then returns empty; with
``ignoreNullValues`` the autoscaler reads 0: docs/reference/tooling.md §8).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.context import dig, selector_matches
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import (pods_selected, prometheus_queries, service_workloads,
                                         vllm_workloads)
from llmfleet.vllm.promql import metric_names


def _consumers(ctx, workload) -> list[str]:
    found = []
    for monitor in ctx.of_kind("PodMonitor"):
        if workload in pods_selected(ctx, dig(monitor.data, "spec", "selector"), None):
            found.append(monitor.ref)
    for monitor in ctx.of_kind("ServiceMonitor"):
        for service in ctx.of_kind("Service"):
            if selector_matches(dig(monitor.data, "spec", "selector"), service.labels) \
                    and workload in service_workloads(ctx, service):
                found.append(monitor.ref)
                break
    for res, _path, query in prometheus_queries(ctx):
        if isinstance(query, str) and any(n.startswith("vllm:") for n in metric_names(query)):
            if res.ref not in found:
                found.append(res.ref)
    return found


@rule(id="vllm-metrics-disabled", severity=Severity.WARNING,
      description="--disable-log-stats while a monitor scrapes the pods or a ScaledObject or "
                  "PrometheusRule queries vllm: metrics",
      remediation="Remove --disable-log-stats (or disable-log-stats: true in serve.yaml).",
      category="vllm")
def check(ctx):
    """Passing: no ``--disable-log-stats``, with a PodMonitor selecting the pods.

    Failing (``/spec/template/spec/containers/0/args/2``)::

        args: [--config, /etc/vllm/serve.yaml, --disable-log-stats]
        # and a PodMonitor whose selector matches the pod template labels
    """
    for workload, settings in vllm_workloads(ctx):
        setting = settings.get("disable-log-stats")
        if setting is None or not settings.flag("disable-log-stats"):
            continue
        consumers = _consumers(ctx, workload)
        if not consumers:
            continue
        yield Problem(setting.resource, setting.path,
                      f"{setting.where} turns off every vllm: metric, but "
                      f"{', '.join(sorted(consumers))} rely on them")
