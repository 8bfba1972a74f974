"""auth-exposed through Gateway API entry points whose model servers are not in the input
(an Envoy AI Gateway AIGatewayRoute, an HTTPRoute to an InferencePool), edge by edge: a
warning on the Gateway when nothing authenticates, on the open rule when other rules do."""

from __future__ import annotations

import pytest

from rule_tables import findings, where

GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ai}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 80}]
"""
KEYED = "[{headers: [{name: x-ai-eg-model, value: a}, {name: Authorization, value: Bearer-k}]}]"
OPEN = "[{headers: [{name: x-ai-eg-model, value: b}]}]"


def ai_route(*matches: str, parent: str = "parentRefs: [{name: gw, kind: Gateway}]") -> str:
    rules = ", ".join(f"{{matches: {m}, backendRefs: [{{name: pool}}]}}" for m in matches)
    return f"""---
apiVersion: aigateway.envoyproxy.io/v1beta1
kind: AIGatewayRoute
metadata: {{name: r, namespace: ai}}
spec:
  {parent}
  rules: [{rules}]
"""


def http_route(kind: str = "InferencePool", group: str = "inference.networking.k8s.io") -> str:
    return f"""---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: h, namespace: ai}}
spec:
  parentRefs: [{{name: gw}}]
  rules: [{{backendRefs: [{{group: {group}, kind: {kind}, name: pool}}]}}]
"""


def policy(
    field: str, target: str = "targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]"
) -> str:
    return f"""---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {{name: p, namespace: ai}}
spec:
  {target}
  {field}
"""


GW = {("warning", "Gateway", "gw", "/spec/listeners/0")}
TABLE = [
    ("AIGatewayRoute, nothing authenticates", GATEWAY + ai_route(OPEN), GW),
    (
        "AIGatewayRoute v1alpha1 attached by targetRefs",
        GATEWAY + ai_route(OPEN, parent="targetRefs: [{name: gw, kind: Gateway}]"),
        GW,
    ),
    (
        "some rules require Authorization: the open rule is reported",
        GATEWAY + ai_route(KEYED, OPEN, OPEN),
        {
            ("warning", "AIGatewayRoute", "r", "/spec/rules/1"),
            ("warning", "AIGatewayRoute", "r", "/spec/rules/2"),
        },
    ),
    ("every rule requires Authorization", GATEWAY + ai_route(KEYED, KEYED), set()),
    (
        "SecurityPolicy apiKeyAuth on the Gateway",
        GATEWAY + ai_route(OPEN) + policy("apiKeyAuth: {credentialRefs: [{name: keys}]}"),
        set(),
    ),
    (
        "SecurityPolicy jwt on the route",
        GATEWAY
        + ai_route(OPEN)
        + policy("jwt: {providers: []}", "targetRefs: [{kind: AIGatewayRoute, name: r}]"),
        set(),
    ),
    (
        "SecurityPolicy with targetSelectors",
        GATEWAY + ai_route(OPEN) + policy("extAuth: {grpc: {}}", "targetSelectors: [{kind: Gateway}]"),
        set(),
    ),
    (
        "SecurityPolicy with only CORS is no auth",
        GATEWAY + ai_route(OPEN) + policy("cors: {allowOrigins: ['*']}"),
        GW,
    ),
    (
        "SecurityPolicy on another Gateway",
        GATEWAY + ai_route(OPEN) + policy("apiKeyAuth: {}", "targetRefs: [{kind: Gateway, name: other}]"),
        GW,
    ),
    (
        "Istio RequestAuthentication in the namespace",
        GATEWAY
        + ai_route(OPEN)
        + "---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: ra, namespace: ai}\nspec: {}\n",
        set(),
    ),
    ("HTTPRoute to an InferencePool", GATEWAY + http_route(), GW),
    ("HTTPRoute to an x-k8s InferencePool", GATEWAY + http_route(group="inference.networking.x-k8s.io"), GW),
    (
        "HTTPRoute to a Service: the Service rules judge it",
        GATEWAY + http_route(kind="Service", group='""'),
        set(),
    ),
    ("the route's Gateway is not in the input", ai_route(OPEN), set()),
    ("a Gateway with no model route", GATEWAY, set()),
]


@pytest.mark.parametrize("text,expected", [c[1:] for c in TABLE], ids=[c[0] for c in TABLE])
def test_gateway_auth(text, expected):
    assert set(where(findings("auth-exposed", text))) == expected
