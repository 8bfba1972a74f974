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
    """Passing::

        kind: Service
        metadata: {name: llama-3-1-8b-instruct}

    Passing (headless: no variables are injected)::

        kind: Service
        metadata: {name: vllm}
        spec: {clusterIP: None}

    Failing (``/spec/template/spec``)::

        kind: Service
        metadata: {name: vllm}      # same namespace, pods without enableServiceLinks: false
    """
    services = [s for s in model.of_kind("Service") if s.name == "vllm" and injects_variables(s)]
    if not services:
        return
    seen = set()
    for server in model.servers:
        template = server.template
        if id(template) in seen:
            continue
        seen.add(id(template))
        if template.spec.get("enableServiceLinks") is False:
            continue
        if any(s.namespace == template.namespace for s in services):
            yield Problem(
                server.resource,
                template.spec_path,
                "a Service named 'vllm' is in this namespace and the pod keeps "
                "enableServiceLinks on: Kubernetes sets VLLM_PORT=tcp://…, which vLLM "
                "reads as its own port and fails",
            )
