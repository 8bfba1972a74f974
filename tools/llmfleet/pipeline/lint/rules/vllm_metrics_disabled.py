"""vllm-metrics-disabled: ``--disable-log-stats`` removes every ``vllm:`` metric.

vLLM builds its Prometheus stat logger only when stats logging is on, so with
``--disable-log-stats`` ``/metrics`` keeps only the ``http_*`` series
(docs/reference/vllm.md §1.1, src vllm/v1/engine/async_llm.py).  A PodMonitor or
ServiceMonitor that scrapes the pods then collects nothing useful, and a ScaledObject or an
alert on ``vllm:`` metrics sees no data (a KEDA prometheus query then returns empty; with
``ignoreNullValues`` the autoscaler reads 0: docs/reference/tooling.md §8).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.k8s import selector_matches
from llmfleet.model.workloads import Workload
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


def _consumers(model: OverlayModel, workload: Workload) -> list[str]:
    found = []
    for monitor in model.monitors:
        res = monitor.resource
        if res.kind == "PodMonitor":
            if any(t.workload is workload for t in model.pods_selected(monitor.selector, None)):
                found.append(res.ref)
        else:
            for service in model.of_kind("Service"):
                if selector_matches(monitor.selector, service.labels) and any(
                    t.workload is workload for t in model.service_templates(service)
                ):
                    found.append(res.ref)
                    break
    for ref in model.queries:
        if any(n.startswith("vllm:") for n in ref.query.metric_names) and ref.resource.ref not in found:
            found.append(ref.resource.ref)
    return found


@rule(
    id="vllm-metrics-disabled",
    severity=Severity.WARNING,
    description="--disable-log-stats while a monitor scrapes the pods or a ScaledObject or "
    "PrometheusRule queries vllm: metrics",
    remediation="Remove --disable-log-stats (or disable-log-stats: true in serve.yaml).",
    rationale="--disable-log-stats turns off the stat loggers, the Prometheus one included: "
    "every vllm: series disappears and the scalers and alerts built on them go blind "
    "(docs/reference/vllm.md §1.1).",
    category="vllm",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing: no ``--disable-log-stats``, with a PodMonitor selecting the pods.

    Failing (``/spec/template/spec/containers/0/args/2``)::

        args: [--config, /etc/vllm/serve.yaml, --disable-log-stats]
        # and a PodMonitor whose selector matches the pod template labels
    """
    for server in model.api_servers:
        setting = server.get("disable-log-stats")
        if setting is None or not server.flag("disable-log-stats"):
            continue
        consumers = _consumers(model, server.workload)
        if not consumers:
            continue
        yield Problem(
            setting.resource,
            setting.path,
            f"{setting.where} turns off every vllm: metric, but {', '.join(sorted(consumers))} rely on them",
        )
