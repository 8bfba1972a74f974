"""vllm-service-links: a Service named ``vllm`` breaks every vLLM pod in its namespace.

With ``enableServiceLinks`` on (the default), Kubernetes injects ``<SERVICE>_PORT`` variables
for every Service of the namespace; a Service named ``vllm`` yields
``VLLM_PORT=tcp://10.x.x.x:8000``, and vLLM reads ``VLLM_PORT`` as its internal port and
fails at startup ("VLLM_PORT '…' appears to be a URI", src vllm/envs.py ``get_vllm_port``;
docs/reference/vllm.md §5.5, vllm#15613, #34199).  A headless Service (``clusterIP:
None``) injects no variables: the kubelet builds them only for Services with a cluster IP
(kubernetes pkg/kubelet/kubelet_pods.go ``getServiceEnvVarMap``, docs/reference/kubernetes.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.k8s import Resource, dig
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


def injects_variables(service: Resource) -> bool:
    """Whether the kubelet injects service-link variables for ``service``: it has a cluster
    IP (not headless) and is not an ExternalName."""
    spec = service.data.get("spec")
    if not isinstance(spec, dict):
        return True
    if spec.get("type") == "ExternalName":
        return False
    return str(dig(service.data, "spec", "clusterIP") or "").lower() != "none"


@rule(
    id="vllm-service-links",
    severity=Severity.ERROR,
    description="A Service named `vllm` in the namespace of vLLM pods that keep enableServiceLinks on",
    remediation="Rename the Service (for example to the model name) or set "
    "enableServiceLinks: false in the pod spec.",
    rationale="Kubernetes injects VLLM_PORT=tcp://ip:port for a Service named vllm; vLLM reads "
    "VLLM_PORT as its own setting and fails to start (docs/reference/vllm.md §5.5).",
    category="vllm",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Reported on the Service (``/metadata/name``): renaming it is the usual fix, and the
    project's corpora name the Service as the cause.

    Passing::

        kind: Service
        metadata: {name: llama-3-1-8b-instruct}

    Passing (headless: no variables are injected)::

        kind: Service
        metadata: {name: vllm}
        spec: {clusterIP: None}

    Failing (``/metadata/name`` of the Service)::

        kind: Service
        metadata: {name: vllm}      # same namespace, pods without enableServiceLinks: false

    Warning (a Helm-rendered Service whose name is the release name: the name is chosen at
    ``helm install``, so the rendered example's ``vllm`` is not necessarily what is deployed)::

        kind: Service
        metadata: {name: vllm, labels: {app.kubernetes.io/managed-by: Helm,
                                        app.kubernetes.io/instance: vllm}}
    """
    services = [s for s in model.of_kind("Service") if s.name == "vllm" and injects_variables(s)]
    for service in services:
        exposed = []
        seen = set()
        for server in model.servers:
            template = server.template
            if id(template) in seen:
                continue
            seen.add(id(template))
            if template.spec.get("enableServiceLinks") is False:
                continue
            if template.namespace == service.namespace:
                exposed.append(f"{server.resource.kind}/{server.resource.name}")
        if not exposed:
            continue
        release = release_named(service)
        yield Problem(
            service,
            "/metadata/name",
            f"Service 'vllm' makes Kubernetes set VLLM_PORT=tcp://… in the pods of "
            f"{', '.join(sorted(set(exposed)))} (enableServiceLinks is on), which vLLM reads as "
            "its own port and fails"
            + (
                "; the name is the Helm release name here, so install under another release "
                "name (or set enableServiceLinks: false)"
                if release
                else ""
            ),
            Severity.WARNING if release else None,
        )


def release_named(service: Resource) -> bool:
    """A Helm-rendered object named after its release (``app.kubernetes.io/managed-by: Helm``
    and the name equal to the ``app.kubernetes.io/instance`` label, Helm's standard labels):
    its name is whatever release name the user installs under."""
    labels = dig(service.data, "metadata", "labels")
    if not isinstance(labels, dict):
        return False
    return (
        str(labels.get("app.kubernetes.io/managed-by") or "") == "Helm"
        and str(labels.get("app.kubernetes.io/instance") or "") == service.name
    )
