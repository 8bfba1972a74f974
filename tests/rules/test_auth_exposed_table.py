"""auth-exposed, edge by edge: a LoadBalancer or NodePort Service, an Ingress backend or an
HTTPRoute backendRef that reaches vLLM pods without an API key (--api-key or VLLM_API_KEY)."""

from __future__ import annotations

import pytest

from rule_tables import findings, where


def pods(container_extra: str = "") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec:
      containers: [{{name: vllm, image: vllm/vllm-openai:v0.33.0, args: [m]{container_extra}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: internal, namespace: llm}}
spec: {{selector: {{app: m}}, ports: [{{port: 8000}}]}}
"""


def service(kind: str, selector: str = "m") -> str:
    return f"""---
apiVersion: v1
kind: Service
metadata: {{name: edge, namespace: llm}}
spec: {{type: {kind}, selector: {{app: {selector}}}, ports: [{{port: 8000}}]}}
"""


INGRESS = """---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing, namespace: llm}
spec:
  defaultBackend: {service: {name: internal, port: {number: 8000}}}
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: 8000}}}}]}}]
"""
ROUTE = """---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: route, namespace: llm}
spec:
  rules: [{backendRefs: [{name: %s, port: 8000%s}]}]
"""
KEY_FROM_SECRET = ", env: [{name: VLLM_API_KEY, valueFrom: {secretKeyRef: {name: k, key: key}}}]"


TABLE = [
    # (case, objects, expected (kind, name, pointer) list)
    ("LoadBalancer without a key", pods() + service("LoadBalancer"), [("Service", "edge", "/spec/type")]),
    ("NodePort without a key", pods() + service("NodePort"), [("warning", "Service", "edge", "/spec/type")]),
    ("ClusterIP is internal", pods() + service("ClusterIP"), []),
    ("LoadBalancer of other pods", pods() + service("LoadBalancer", "other"), []),
    ("LoadBalancer, key from a Secret", pods(KEY_FROM_SECRET) + service("LoadBalancer"), []),
    (
        "Ingress: the default backend and a path",
        pods() + INGRESS % "internal",
        [
            ("Ingress", "ing", "/spec/defaultBackend/service/name"),
            ("Ingress", "ing", "/spec/rules/0/http/paths/0/backend/service/name"),
        ],
    ),
    ("Ingress to a Service that is not here", pods(KEY_FROM_SECRET) + INGRESS % "missing", []),
    (
        "HTTPRoute backendRef",
        pods() + ROUTE % ("internal", ""),
        [("HTTPRoute", "route", "/spec/rules/0/backendRefs/0/name")],
    ),
    ("HTTPRoute to another kind", pods() + ROUTE % ("internal", ", kind: ServiceImport"), []),
]


@pytest.mark.parametrize(("case", "text", "expected"), TABLE, ids=[r[0] for r in TABLE])
def test_auth_exposed_table(case, text, expected):
    # A NodePort is reachable only from the nodes' network: a warning (helper rows carry it).
    assert where(findings("auth-exposed", text)) == sorted(
        e if e[0] == "warning" else ("error", *e) for e in expected
    )


INTERNAL = [
    # (case, annotations, source ranges, severity)
    ("an internet-facing load balancer", {}, None, "error"),
    ("GKE internal", {"networking.gke.io/load-balancer-type": "Internal"}, None, "warning"),
    ("AWS internal", {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}, None, "warning"),
    (
        "AWS LB controller scheme",
        {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
        None,
        "warning",
    ),
    (
        "AWS LB controller, internet-facing",
        {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"},
        None,
        "error",
    ),
    ("Azure internal", {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}, None, "warning"),
    (
        "Azure internal false",
        {"service.beta.kubernetes.io/azure-load-balancer-internal": "false"},
        None,
        "error",
    ),
    ("source ranges of an office", {}, ["203.0.113.0/24"], "warning"),
    ("source ranges open to all", {}, ["0.0.0.0/0"], "error"),
]


@pytest.mark.parametrize(
    ("case", "annotations", "ranges", "severity"), INTERNAL, ids=[r[0] for r in INTERNAL]
)
def test_an_internal_or_restricted_load_balancer_is_a_warning(case, annotations, ranges, severity):
    spec = "type: LoadBalancer" + (f", loadBalancerSourceRanges: {ranges}" if ranges else "")
    meta = f", annotations: {annotations}" if annotations else ""
    service = f"""
---
apiVersion: v1
kind: Service
metadata: {{name: s, namespace: llm{meta}}}
spec: {{{spec}, selector: {{app: m}}, ports: [{{port: 80, targetPort: 8000}}]}}
"""
    found = where(findings("auth-exposed", pods() + service))
    assert found == [(severity, "Service", "s", "/spec/type")]
