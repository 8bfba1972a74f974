"""fleet-duplicate-model, edge by edge: two overlays may not serve one model name, render one
object (kind, namespace, name), scale each other's workloads, or select each other's pods."""

from __future__ import annotations

import pytest

from rule_tables import fleet_findings, where


def overlay(
    name: str, served: str, instance: str | None = None, namespace: str = "llm", target: str | None = None
) -> str:
    instance = instance or name
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}-server, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app.kubernetes.io/instance: {instance}}}}}
  template:
    metadata: {{labels: {{app.kubernetes.io/name: vllm, app.kubernetes.io/instance: {instance}}}}}
    spec:
      containers: [{{name: vllm, image: vllm/vllm-openai:v0.33.0, args: [m, --served-model-name, {served}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}-server, namespace: {namespace}}}
spec: {{selector: {{app.kubernetes.io/instance: {instance}}}, ports: [{{port: 8000}}]}}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: {name}-server, namespace: {namespace}}}
spec: {{scaleTargetRef: {{name: {target or name + "-server"}}}}}
"""


ARGS_1 = "/spec/template/spec/containers/0/args/1"  # the --served-model-name option
TABLE = [
    ("distinct names and labels", {"a": overlay("a", "llama"), "b": overlay("b", "mistral")}, []),
    (
        "one served name twice",
        {"a": overlay("a", "llama"), "b": overlay("b", "llama")},
        [("Deployment", "b-server", ARGS_1)],
    ),
    (
        "the same name in two namespaces is still one model name",
        {"a": overlay("a", "llama"), "b": overlay("b", "llama", namespace="other")},
        [("Deployment", "b-server", ARGS_1)],
    ),
    (
        "one object rendered by two overlays",
        {"a": overlay("a", "llama"), "b": overlay("a", "mistral", instance="b")},
        [
            ("Deployment", "a-server", "/metadata/name"),
            ("ScaledObject", "a-server", "/metadata/name"),
            ("Service", "a-server", "/metadata/name"),
        ],
    ),
    (
        "a ScaledObject scales the other overlay's Deployment",
        {"a": overlay("a", "llama"), "b": overlay("b", "mistral", target="a-server")},
        [("ScaledObject", "b-server", "/spec/scaleTargetRef")],
    ),
    (
        "a shared instance label: each selects the other's pods",
        {"a": overlay("a", "llama", instance="same"), "b": overlay("b", "mistral", instance="same")},
        [
            ("Service", "a-server", "/spec/selector"),
            ("Service", "b-server", "/spec/selector"),
        ],
    ),
    (
        "a shared label in another namespace selects nothing of the other",
        {
            "a": overlay("a", "llama", instance="same"),
            "b": overlay("b", "mistral", instance="same", namespace="other"),
        },
        [],
    ),
]


@pytest.mark.parametrize(("case", "overlays", "expected"), TABLE, ids=[r[0] for r in TABLE])
def test_fleet_duplicate_model_table(case, overlays, expected):
    found = where(fleet_findings("fleet-duplicate-model", overlays))
    assert found == sorted(("error", *e) for e in expected)
