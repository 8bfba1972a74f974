"""monitor-selector: a PodMonitor/ServiceMonitor must select something and name a real port.

prometheus-operator turns a PodMonitor into scrape configs for the pods its ``selector``
matches (in ``namespaceSelector``'s namespaces, default its own), and a ServiceMonitor into
configs for the endpoints of matching Services; ``port`` is the *name* of a container port
(PodMonitor) or Service port (ServiceMonitor).  A selector that matches nothing, or a port name
nobody declares, scrapes nothing, without any error: the vLLM metrics the alerts and KEDA
need are simply absent (docs/reference/vllm-0.33.md §1, §5.4).  kube-linter's
``dangling-servicemonitor`` covers only the ServiceMonitor selector (docs/reference/tooling.md §3.1).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.context import dig, selector_matches
from llmfleet.lint.registry import Problem, rule


def _namespaces(monitor) -> set[str] | None:
    """Namespaces the monitor looks at; None means any."""
    selector = dig(monitor.data, "spec", "namespaceSelector")
    if isinstance(selector, dict):
        if selector.get("any") is True:
            return None
        names = selector.get("matchNames")
        if isinstance(names, list) and names:
            return {str(n) for n in names}
    return {monitor.namespace}


def _in(namespaces, namespace) -> bool:
    return namespaces is None or namespace in namespaces


@rule(id="monitor-selector", severity=Severity.ERROR,
      description="A PodMonitor/ServiceMonitor selects no pod/Service of the input, or scrapes a "
                  "port name they do not declare",
      remediation="Make spec.selector match the pod template (PodMonitor) or Service "
                  "(ServiceMonitor) labels, and name a port that they declare (e.g. http).",
      category="monitor")
def check(ctx):
    """Passing::

        kind: PodMonitor
        spec: {selector: {matchLabels: {app.kubernetes.io/name: vllm}},
               podMetricsEndpoints: [{port: http, path: /metrics}]}

    Failing (``/spec/selector``): a selector no pod template matches; or
    (``/spec/podMetricsEndpoints/0/port``) a port name no container declares.
    """
    for monitor in ctx.of_kind("PodMonitor"):
        selector = dig(monitor.data, "spec", "selector")
        namespaces = _namespaces(monitor)
        pods = [w for w in ctx.workloads if _in(namespaces, w.namespace)
                and (selector == {} or selector_matches(selector, w.template_labels))]
        if not pods:
            yield Problem(monitor, "/spec/selector" if selector is not None else "/spec",
                          "the PodMonitor selects no pod template in this input: nothing is scraped")
            continue
        names = {str(p.get("name")) for w in pods for c in w.main_containers for p in c.ports
                 if p.get("name")}
        endpoints = dig(monitor.data, "spec", "podMetricsEndpoints")
        for i, endpoint in enumerate(endpoints if isinstance(endpoints, list) else []):
            port = dig(endpoint, "port")
            if isinstance(port, str) and port and port not in names:
                yield Problem(monitor, f"/spec/podMetricsEndpoints/{i}/port",
                              f"port {port!r} is not a container port name of the selected pods "
                              f"({', '.join(sorted(names)) or 'none declared'})")
    for monitor in ctx.of_kind("ServiceMonitor"):
        selector = dig(monitor.data, "spec", "selector")
        namespaces = _namespaces(monitor)
        services = [s for s in ctx.of_kind("Service") if _in(namespaces, s.namespace)
                    and (selector == {} or selector_matches(selector, s.labels))]
        if not services:
            yield Problem(monitor, "/spec/selector" if selector is not None else "/spec",
                          "the ServiceMonitor selects no Service in this input: nothing is scraped")
            continue
        names = {str(p.get("name")) for s in services
                 for p in (dig(s.data, "spec", "ports") or []) if isinstance(p, dict) and p.get("name")}
        endpoints = dig(monitor.data, "spec", "endpoints")
        for i, endpoint in enumerate(endpoints if isinstance(endpoints, list) else []):
            port = dig(endpoint, "port")
            if isinstance(port, str) and port and port not in names:
                yield Problem(monitor, f"/spec/endpoints/{i}/port",
                              f"port {port!r} is not a port name of the selected Services "
                              f"({', '.join(sorted(names)) or 'none named'})")
