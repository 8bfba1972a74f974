"""auth-exposed: an LLM server reachable from outside the cluster must require an API key.

vLLM serves its OpenAI API without authentication unless ``--api-key`` or env
``VLLM_API_KEY`` is set (docs/reference/vllm.md §2.2 "Frontend": only ``/v1``, ``/v2``,
``/inference`` and ``/cohere`` are guarded then).  A Service of type LoadBalancer or NodePort,
an Ingress, or a Gateway API HTTPRoute in front of the pods exposes free GPU inference to
whoever reaches it (kube-score flags NodePort Services: docs/reference/tooling.md §4.2 ``service-type``).
When the container takes env from ``envFrom`` the key may be set there; that case is not
reported.  An OpenShift Route publishes its Service on the cluster's router (edge TLS does
not authenticate).  The same holds for SGLang and llama.cpp without ``--api-key`` (llama.cpp:
also ``--api-key-file`` or env ``LLAMA_API_KEY``), TGI without ``--api-key``/``API_KEY``,
Triton unless ``--http-restricted-api`` restricts the ``inference`` APIs to a header, LocalAI
without ``LOCALAI_API_KEY``/``API_KEY``, and for
Ollama and NVIDIA NIM, which have no request authentication at all
(docs/reference/servers.md).  A NodePort is a warning: it is
reachable from the nodes' network, not necessarily from the internet; so is a LoadBalancer made
internal by its cloud's annotation, or limited by ``loadBalancerSourceRanges``.
A Gateway API Gateway whose routes (Envoy AI Gateway AIGatewayRoute, or an HTTPRoute to an
InferencePool) send model traffic with no authentication in the input is a warning
(:mod:`llmfleet.model.gateway_auth`).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.gateway_auth import open_entries
from llmfleet.model.k8s import Resource, dig
from llmfleet.model.servers import other_servers
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

EXPOSED_TYPES = ("LoadBalancer", "NodePort")
#: Service annotations that make a cloud load balancer internal (an address in the VPC, not on
#: the internet), with the values that do (Kubernetes docs "Internal load balancer"; the AWS
#: Load Balancer Controller's scheme annotation).  docs/reference/servers.md.
INTERNAL_LB = {
    "networking.gke.io/load-balancer-type": ("internal",),
    "cloud.google.com/load-balancer-type": ("internal",),
    "service.beta.kubernetes.io/aws-load-balancer-internal": ("true", "0.0.0.0/0"),
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
    "service.beta.kubernetes.io/azure-load-balancer-internal": ("true",),
    "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type": ("private",),
    "service.beta.kubernetes.io/openstack-internal-load-balancer": ("true",),
    "service.beta.kubernetes.io/oci-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": ("intranet",),
}


def reach(service: Resource) -> str:
    """Who reaches a LoadBalancer: "" for the internet, else why not everyone can."""
    for key, values in INTERNAL_LB.items():
        value = service.annotations.get(key)
        if value is not None and str(value).strip().lower() in values:
            return f"an internal load balancer ({key}), reachable from the private network"
    ranges = dig(service.data, "spec", "loadBalancerSourceRanges")
    if (
        isinstance(ranges, list)
        and ranges
        and not any(str(r).strip() in ("0.0.0.0/0", "::/0") for r in ranges)
    ):
        return f"reachable only from loadBalancerSourceRanges {', '.join(map(str, ranges))}"
    return ""


def _unauthenticated(model: OverlayModel, service: Resource) -> list[str]:
    names = []
    others = other_servers(model)
    for template in model.service_templates(service):
        for server in model.api_servers:
            if server.template is template and server.api_key() is None and not server.api_key_unknown():
                names.append(f"{template.ref} (vLLM)")
        for other in others:
            if other.template is template and other.authenticated() is False:
                names.append(f"{template.ref} ({other.engine.title})")
    return list(dict.fromkeys(names))


def _openshift_route_services(res: Resource) -> list[tuple[str, str]]:
    out = []
    to = dig(res.data, "spec", "to")
    if (
        isinstance(to, dict)
        and (to.get("kind") or "Service") == "Service"
        and isinstance(to.get("name"), str)
    ):
        out.append(("/spec/to/name", to["name"]))
    for i, alt in enumerate(dig(res.data, "spec", "alternateBackends") or []):
        if (
            isinstance(alt, dict)
            and (alt.get("kind") or "Service") == "Service"
            and isinstance(alt.get("name"), str)
        ):
            out.append((f"/spec/alternateBackends/{i}/name", alt["name"]))
    return out


def _ingress_services(res: Resource) -> list[tuple[str, str]]:
    """(pointer, service name) of every backend of an Ingress."""
    out = []
    default = dig(res.data, "spec", "defaultBackend", "service", "name")
    if isinstance(default, str):
        out.append(("/spec/defaultBackend/service/name", default))
    rules = dig(res.data, "spec", "rules")
    for ri, item in enumerate(rules if isinstance(rules, list) else []):
        paths = dig(item, "http", "paths")
        for pi, path in enumerate(paths if isinstance(paths, list) else []):
            name = dig(path, "backend", "service", "name")
            if isinstance(name, str):
                out.append((f"/spec/rules/{ri}/http/paths/{pi}/backend/service/name", name))
    return out


def _route_services(res: Resource) -> list[tuple[str, str]]:
    out = []
    rules = dig(res.data, "spec", "rules")
    for ri, item in enumerate(rules if isinstance(rules, list) else []):
        refs = dig(item, "backendRefs")
        for bi, ref in enumerate(refs if isinstance(refs, list) else []):
            if (
                isinstance(ref, dict)
                and (ref.get("kind") or "Service") == "Service"
                and isinstance(ref.get("name"), str)
            ):
                out.append((f"/spec/rules/{ri}/backendRefs/{bi}/name", ref["name"]))
    return out


@rule(
    id="auth-exposed",
    severity=Severity.ERROR,
    description="A LoadBalancer/NodePort Service, Ingress, HTTPRoute or OpenShift Route exposes "
    "LLM server pods (vLLM, SGLang, TGI, Ollama, NIM, Triton, llama.cpp, LocalAI) that check no API key",
    remediation="Set the server's API key from a Secret (vLLM: VLLM_API_KEY; SGLang, llama.cpp, "
    "TGI: --api-key; Triton: --http-restricted-api=inference:<header>=<value>), or keep the "
    "Service ClusterIP behind an authenticating gateway (the only choice for Ollama and NIM).",
    rationale="vLLM serves anyone who reaches it when no API key is set; an exposed Service or "
    "route hands the GPUs (and any private model) to the internet "
    "(docs/reference/vllm.md §2.2 Frontend).",
    category="security",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing: a ClusterIP Service, or VLLM_API_KEY from a Secret on the container.

    Failing (``/spec/type``)::

        kind: Service
        spec: {type: LoadBalancer, selector: {app: vllm}}   # pods without an API key
    """
    for service in model.of_kind("Service"):
        kind = dig(service.data, "spec", "type")
        if kind in EXPOSED_TYPES:
            exposed = _unauthenticated(model, service)
            if exposed:
                limited = reach(service) if kind == "LoadBalancer" else "from the nodes' network"
                yield Problem(
                    service,
                    "/spec/type",
                    f"Service type {kind} exposes {', '.join(exposed)}, which checks no API "
                    "key: anyone who reaches it can use the model" + (f" ({limited})" if limited else ""),
                    Severity.WARNING if limited else None,
                )
    for kind, backends in (
        ("Ingress", _ingress_services),
        ("HTTPRoute", _route_services),
        ("Route", _openshift_route_services),
    ):
        for res in model.of_kind(kind):
            if kind == "Route" and not res.group.startswith("route.openshift.io"):
                continue
            for path, name in backends(res):
                target = model.get("Service", name, res.namespace)
                if target is None:
                    continue
                exposed = _unauthenticated(model, target)
                if exposed:
                    yield Problem(
                        res,
                        path,
                        f"{kind} routes to Service {name!r} of {', '.join(exposed)}, which "
                        "checks no API key: anyone who reaches the route can use the model",
                    )
    # Gateway API entry points to model servers outside the input (InferencePool, Envoy AI
    # Gateway backends): a warning, since the servers' own keys are not in the input.
    for entry in open_entries(model):
        yield Problem(entry.resource, entry.path, entry.message, Severity.WARNING)
