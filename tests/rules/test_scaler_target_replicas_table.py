"""scaler-target and scaler-replicas, edge by edge: a ScaledObject's scaleTargetRef must name a
workload of the input in its namespace (kind, name and API group; Deployment in apps/v1 by
default), and the workload it manages must not set spec.replicas."""

from __future__ import annotations

import pytest

from rule_tables import findings, where


def workload(kind: str = "Deployment", replicas: str = "", namespace: str = "llm") -> str:
    replicas_line = f"\n  replicas: {replicas}" if replicas else ""
    service_name = "\n  serviceName: w" if kind == "StatefulSet" else ""
    return f"""
apiVersion: apps/v1
kind: {kind}
metadata: {{name: w, namespace: {namespace}}}
spec:{replicas_line}{service_name}
  selector: {{matchLabels: {{app: w}}}}
  template:
    metadata: {{labels: {{app: w}}}}
    spec: {{containers: [{{name: c, image: busybox:1.36}}]}}
"""


def scaled_object(target: str) -> str:
    spec = f"{{scaleTargetRef: {target}}}" if target else "{}"
    return f"""---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: so, namespace: llm}}
spec: {spec}
"""


TARGET = [
    ("a Deployment by name", workload(), "{name: w}", None),
    ("a StatefulSet by kind", workload("StatefulSet"), "{name: w, kind: StatefulSet}", None),
    ("apps/v1beta1 is the same group", workload(), "{name: w, apiVersion: apps/v1beta1}", None),
    ("another name", workload(), "{name: x}", "/spec/scaleTargetRef"),
    ("another kind", workload(), "{name: w, kind: StatefulSet}", "/spec/scaleTargetRef"),
    ("another group", workload(), "{name: w, apiVersion: other.io/v1}", "/spec/scaleTargetRef"),
    ("another namespace", workload(namespace="other"), "{name: w}", "/spec/scaleTargetRef"),
    ("no scaleTargetRef", workload(), "", "/spec"),
]


@pytest.mark.parametrize(("case", "objects", "target", "pointer"), TARGET, ids=[r[0] for r in TARGET])
def test_scaler_target_table(case, objects, target, pointer):
    found = where(findings("scaler-target", objects + scaled_object(target)))
    assert found == ([("error", "ScaledObject", "so", pointer)] if pointer else [])


def test_a_lone_scaled_object_file_is_not_judged():
    assert findings("scaler-target", scaled_object("{name: elsewhere}")) == []


REPLICAS = [
    ("no spec.replicas", "", "{name: w}", False),
    ("spec.replicas 1", "1", "{name: w}", True),
    ("spec.replicas 0", "0", "{name: w}", True),
    ("a ScaledObject of another workload", "1", "{name: x}", False),
]


@pytest.mark.parametrize(("case", "replicas", "target", "reported"), REPLICAS, ids=[r[0] for r in REPLICAS])
def test_scaler_replicas_table(case, replicas, target, reported):
    found = findings("scaler-replicas", workload(replicas=replicas) + scaled_object(target))
    assert where(found) == ([("warning", "Deployment", "w", "/spec/replicas")] if reported else [])
    if reported:
        assert f"sets spec.replicas: {int(replicas)!r}" in found[0][4]
