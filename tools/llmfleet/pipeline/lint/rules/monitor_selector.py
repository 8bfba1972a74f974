"""monitor-selector: a PodMonitor/ServiceMonitor must select something and name a real port.

prometheus-operator turns a PodMonitor into scrape configs for the pods its ``selector``
matches (in ``namespaceSelector``'s namespaces, default its own), and a ServiceMonitor into
configs for the endpoints of matching Services; ``port`` is the *name* of a container port
(PodMonitor) or Service port (ServiceMonitor).  A selector that matches nothing, or a port name
nobody declares, scrapes nothing, without any error: the vLLM metrics the alerts and KEDA
need are simply absent (docs/reference/vllm.md §1, §5.4).  kube-linter's
``dangling-servicemonitor`` covers only the ServiceMonitor selector (docs/reference/tooling.md §3.1).
A monitor file linted alone (no workload, no Service, not an overlay) is not judged: what it
scrapes is deployed from elsewhere (lint the files together to judge it).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.k8s import as_list, dig, selector_matches
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


def _in(namespaces: list[str] | None, namespace: str) -> bool:
    return namespaces is None or namespace in namespaces


@rule(
    id="monitor-selector",
    severity=Severity.ERROR,
    description="A PodMonitor/ServiceMonitor selects no pod/Service of the input, or scrapes a "
    "port name they do not declare",
    remediation="Make spec.selector match the pod template (PodMonitor) or Service "
    "(ServiceMonitor) labels, and name a port that they declare (e.g. http).",
    rationale="prometheus-operator generates no scrape target for a monitor that matches "
    "nothing, or for an endpoint port name no pod declares: the dashboards, alerts and "
    "KEDA's queries then see no data (docs/reference/tooling.md §5).",
    category="monitor",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        kind: PodMonitor
        spec: {selector: {matchLabels: {app.kubernetes.io/name: vllm}},
               podMetricsEndpoints: [{port: http, path: /metrics}]}

    Failing (``/spec/selector``): a selector no pod template matches; or
    (``/spec/podMetricsEndpoints/0/port``) a port name no container declares.
    """
    if not model.is_overlay and not model.workloads and not model.of_kind("Service"):
        return  # a lone monitor file: what it scrapes is deployed from elsewhere
    for monitor in model.monitors:
        res = monitor.resource
        selector = monitor.selector
        namespaces = monitor.namespaces()
        if res.kind == "PodMonitor":
            pods = [
                t
                for t in model.templates
                if _in(namespaces, t.namespace) and (selector == {} or selector_matches(selector, t.labels))
            ]
            if not pods:
                yield Problem(
                    res,
                    "/spec/selector" if selector is not None else "/spec",
                    "the PodMonitor selects no pod template in this input: nothing is scraped",
                )
                continue
            names = {
                str(p.get("name")) for t in pods for c in t.app_containers for p in c.ports if p.get("name")
            }
            what = "a container port name of the selected pods"
        else:
            services = [
                s
                for s in model.of_kind("Service")
                if _in(namespaces, s.namespace) and (selector == {} or selector_matches(selector, s.labels))
            ]
            if not services:
                yield Problem(
                    res,
                    "/spec/selector" if selector is not None else "/spec",
                    "the ServiceMonitor selects no Service in this input: nothing is scraped",
                )
                continue
            names = {
                str(p.get("name"))
                for s in services
                for p in as_list(dig(s.data, "spec", "ports"))
                if isinstance(p, dict) and p.get("name")
            }
            what = "a port name of the selected Services"
        for i, endpoint in monitor.endpoints:
            port = endpoint.get("port")
            if isinstance(port, str) and port and port not in names:
                yield Problem(
                    res,
                    f"/spec/{monitor.endpoints_key}/{i}/port",
                    f"port {port!r} is not {what} ({', '.join(sorted(names)) or 'none declared'})",
                )
