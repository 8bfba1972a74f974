"""Gateway API entry points to model servers that no authentication in the input guards.

A Gateway API ``Gateway`` publishes its listeners (Envoy Gateway provisions a LoadBalancer
Service for it by default); routes attached to it send model traffic on: an Envoy AI Gateway
``AIGatewayRoute`` (AI traffic by definition), or an ``HTTPRoute``/``GRPCRoute`` rule whose
backend is a Gateway API Inference Extension ``InferencePool``.  The model servers behind an
InferencePool or an AIServiceBackend are not in the input, so whether they check a key is
unknown: the finding is a warning.

Authentication the input can show (docs/reference/gateway.md "Authentication at the gateway"):

- an Envoy Gateway ``SecurityPolicy`` with ``apiKeyAuth``, ``basicAuth``, ``jwt``, ``oidc``,
  ``extAuth`` or ``authorization``, attached by ``targetRef``/``targetRefs`` to the Gateway or
  the route, or by ``targetSelectors`` (taken to match);
- a Kuadrant ``AuthPolicy`` attached the same way;
- Istio ``RequestAuthentication``/``AuthorizationPolicy`` in the namespace;
- a route rule whose every match requires an ``Authorization``/``x-api-key`` header.

Where some rules of the Gateway's model routes authenticate and others do not, the open rules
are reported on their route (the fix is there); where nothing authenticates, the Gateway's
listener is (the fix is a policy on the Gateway).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from llmfleet.model.k8s import Resource, as_list
from llmfleet.model.overlay import OverlayModel

GATEWAY_GROUP = "gateway.networking.k8s.io"
AUTH_FIELDS = ("apiKeyAuth", "basicAuth", "jwt", "oidc", "extAuth", "authorization")
AUTH_HEADERS = ("authorization", "x-api-key", "api-key", "proxy-authorization")
INFERENCE_POOL_GROUPS = ("inference.networking.k8s.io", "inference.networking.x-k8s.io")


@dataclass(frozen=True)
class OpenEntry:
    resource: Resource
    path: str
    message: str


def _targets(policy: Resource) -> tuple[list[tuple[str, str]], bool]:
    """(kind, name) pairs a policy attaches to, and whether it selects by labels."""
    spec = policy.spec
    refs = [spec.get("targetRef")] + as_list(spec.get("targetRefs"))
    pairs = [(str(r.get("kind") or ""), str(r.get("name") or "")) for r in refs if isinstance(r, dict)]
    return pairs, bool(as_list(spec.get("targetSelectors")))


def _policies(model: OverlayModel) -> tuple[set[tuple[str, str, str]], set[str]]:
    """Attached auth: {(namespace, kind, name)} and namespaces covered wholesale."""
    attached: set[tuple[str, str, str]] = set()
    whole: set[str] = set()
    for res in model.resources:
        group = res.group
        if res.kind == "SecurityPolicy" and group.startswith("gateway.envoyproxy.io"):
            if not any(res.spec.get(f) for f in AUTH_FIELDS):
                continue
        elif res.kind == "AuthPolicy" and group.startswith("kuadrant.io"):
            pass
        elif res.kind in ("RequestAuthentication", "AuthorizationPolicy") and group.startswith(
            "security.istio.io"
        ):
            whole.add(res.namespace)
            continue
        else:
            continue
        pairs, selects = _targets(res)
        if selects:
            whole.add(res.namespace)
        attached.update((res.namespace, kind, name) for kind, name in pairs)
    return attached, whole


def _rule_authenticated(rule: Any) -> bool:
    matches = as_list(rule.get("matches")) if isinstance(rule, dict) else []
    if not matches:
        return False
    for match in matches:
        headers = as_list(match.get("headers")) if isinstance(match, dict) else []
        names = {str(h.get("name") or "").lower() for h in headers if isinstance(h, dict)}
        if not names & set(AUTH_HEADERS):
            return False
    return True


def _model_rules(route: Resource) -> list[int]:
    """Indices of the rules that carry model traffic."""
    rules = as_list(route.spec.get("rules"))
    if route.kind == "AIGatewayRoute":
        return list(range(len(rules)))
    out = []
    for i, rule in enumerate(rules):
        refs = as_list(rule.get("backendRefs")) if isinstance(rule, dict) else []
        if any(
            isinstance(r, dict)
            and r.get("kind") == "InferencePool"
            and str(r.get("group") or "") in INFERENCE_POOL_GROUPS
            for r in refs
        ):
            out.append(i)
    return out


def _parents(route: Resource) -> list[tuple[str, str]]:
    """(namespace, name) of the Gateways a route attaches to (parentRefs, or targetRefs in
    AIGatewayRoute v1alpha1)."""
    out = []
    for ref in as_list(route.spec.get("parentRefs")) + as_list(route.spec.get("targetRefs")):
        if isinstance(ref, dict) and (ref.get("kind") or "Gateway") == "Gateway" and ref.get("name"):
            out.append((str(ref.get("namespace") or route.namespace), str(ref["name"])))
    return out


def _is_model_route(res: Resource) -> bool:
    if res.kind == "AIGatewayRoute":
        return res.group.startswith("aigateway.envoyproxy.io")
    return res.kind in ("HTTPRoute", "GRPCRoute") and res.group.startswith(GATEWAY_GROUP)


def open_entries(model: OverlayModel) -> Iterator[OpenEntry]:
    attached, whole = _policies(model)
    routes = [r for r in model.resources if _is_model_route(r)]
    for gateway in model.resources:
        if gateway.kind != "Gateway" or not gateway.group.startswith(GATEWAY_GROUP):
            continue
        ns = gateway.namespace
        if ns in whole or (ns, "Gateway", gateway.name) in attached:
            continue
        open_rules: list[tuple[Resource, int]] = []
        some_authenticated = False
        for route in routes:
            if (ns, gateway.name) not in _parents(route):
                continue
            if route.namespace in whole or (route.namespace, route.kind, route.name) in attached:
                continue
            rules = as_list(route.spec.get("rules"))
            for i in _model_rules(route):
                if _rule_authenticated(rules[i]):
                    some_authenticated = True
                else:
                    open_rules.append((route, i))
        if not open_rules:
            continue
        if some_authenticated:
            for route, i in open_rules:
                yield OpenEntry(
                    route,
                    f"/spec/rules/{i}",
                    f"rule {i} of {route.kind} {route.name!r} sends model traffic from Gateway "
                    f"{gateway.name!r} without the Authorization header other rules require, and "
                    "no SecurityPolicy/AuthPolicy in the input covers it: anyone who reaches the "
                    "Gateway uses the model",
                )
        else:
            listeners = as_list(gateway.spec.get("listeners"))
            names = sorted({f"{r.kind} {r.name!r}" for r, _ in open_rules})
            yield OpenEntry(
                gateway,
                "/spec/listeners/0" if listeners else "/spec",
                f"Gateway {gateway.name!r} publishes model servers through {', '.join(names)} "
                "and nothing in the input authenticates the requests (no SecurityPolicy with "
                "apiKeyAuth/jwt/oidc/basicAuth/extAuth, no AuthPolicy, no Authorization header "
                "match): anyone who reaches the Gateway uses the models, unless the servers "
                "behind it check a key",
            )
