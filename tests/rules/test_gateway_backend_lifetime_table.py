"""gateway-backend-lifetime, edge by edge: every model's preStop sleep must cover the
gateway's GATEWAY_BACKEND_MAX_LIFETIME (default 10 s) + the endpoint propagation (5 s); the
gateway refuses a lifetime that is not a positive number and an idle timeout (default 4 s)
longer than the lifetime."""

from __future__ import annotations

import pytest

from rule_tables import fleet_findings, where

SLEEP = "/spec/template/spec/containers/0/lifecycle/preStop/sleep/seconds"
GW_ENV = "/spec/template/spec/containers/0/env/{}/value"


def gateway(env: str = "") -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: gw, namespace: gateway}}
spec:
  selector: {{matchLabels: {{app: gw}}}}
  template:
    metadata: {{labels: {{app: gw}}}}
    spec:
      containers:
        - name: gateway
          image: ghcr.io/acme/llm-gateway:0.1.0
          env: [{{name: GATEWAY_ROUTES_FILE, value: /etc/routes.yaml}}{env}]
"""


def model(sleep: int | None) -> str:
    lifecycle = f", lifecycle: {{preStop: {{sleep: {{seconds: {sleep}}}}}}}" if sleep is not None else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: m, namespace: llm}}
spec:
  selector: {{matchLabels: {{app: m}}}}
  template:
    metadata: {{labels: {{app: m}}}}
    spec:
      containers: [{{name: vllm, image: vllm/vllm-openai:v0.33.0, args: [m]{lifecycle}}}]
"""


def lifetime(value: str) -> str:
    return f', {{name: GATEWAY_BACKEND_MAX_LIFETIME, value: "{value}"}}'


def idle(value: str) -> str:
    return f', {{name: GATEWAY_BACKEND_IDLE_TIMEOUT, value: "{value}"}}'


TABLE = [
    # (case, gateway env, model preStop sleep, expected (overlay kind, name, pointer) list)
    ("default 10 + 5 = 15 s covered", "", 15, []),
    ("default 10 + 5 > 14 s", "", 14, [("Deployment", "m", SLEEP)]),
    ("no preStop at all", "", None, [("Deployment", "m", "/spec/template/spec/containers/0")]),
    ("lifetime 20: 25 s needed", lifetime("20"), 24, [("Deployment", "m", SLEEP)]),
    ("lifetime 2.5: 7.5 s needed, 8 s covers", lifetime("2.5") + idle("2"), 8, []),
    ("a lifetime that is not a number", lifetime("ten"), 30, [("Deployment", "gw", GW_ENV.format(1))]),
    ("a zero lifetime", lifetime("0"), 30, [("Deployment", "gw", GW_ENV.format(1))]),
    (
        "idle longer than the lifetime",
        lifetime("10") + idle("11"),
        30,
        [("Deployment", "gw", GW_ENV.format(2))],
    ),
    ("idle equal to the lifetime", lifetime("10") + idle("10"), 30, []),
]


@pytest.mark.parametrize(("case", "env", "sleep", "expected"), TABLE, ids=[r[0] for r in TABLE])
def test_gateway_backend_lifetime_table(case, env, sleep, expected):
    found = fleet_findings("gateway-backend-lifetime", {"gw": gateway(env), "m": model(sleep)})
    assert where(found) == sorted(("error", *e) for e in expected)


def test_without_a_gateway_nothing_is_judged():
    assert fleet_findings("gateway-backend-lifetime", {"m": model(None)}) == []


def test_the_message_gives_the_needed_sleep():
    (row,) = fleet_findings("gateway-backend-lifetime", {"gw": gateway(lifetime("20")), "m": model(24)})
    assert "preStop sleep of container 'vllm' is 24 s" in row[4] and "at least 25 s" in row[4]
