"""fleet-quota, edge by edge: per namespace, GPUs at maximum scale (replicas x GPUs per
replica) summed over overlays against the ResourceQuota; a workload whose replica count cannot
be told (a DaemonSet: one per node) makes the sum unknown, so nothing is reported."""

from __future__ import annotations

import pytest

from rule_tables import fleet_findings, where

QUOTA_PATH = "/spec/hard/requests.nvidia.com~1gpu"


def quota(gpus: int, namespace: str = "inference") -> str:
    return f"""
apiVersion: v1
kind: ResourceQuota
metadata: {{name: gpu, namespace: {namespace}}}
spec: {{hard: {{requests.nvidia.com/gpu: "{gpus}"}}}}
"""


def server(
    name: str, gpus: int, max_replicas: int | None, namespace: str = "inference", kind: str = "Deployment"
) -> str:
    scaler = (
        f"""---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: {name}, namespace: {namespace}}}
spec: {{scaleTargetRef: {{name: {name}}}, minReplicaCount: 1, maxReplicaCount: {max_replicas}}}
"""
        if max_replicas is not None
        else ""
    )
    return f"""
apiVersion: apps/v1
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.33.0
          args: [meta-llama/Llama-3.1-8B-Instruct]
          resources: {{limits: {{nvidia.com/gpu: {gpus}}}, requests: {{nvidia.com/gpu: {gpus}}}}}
{scaler}"""


TABLE = [
    # (case, overlays, quota, reported)
    ("4 x 1 + 2 x 4 = 12 within 12", {"a": server("a", 1, 4), "b": server("b", 4, 2)}, 12, False),
    ("4 x 1 + 2 x 4 = 12 over 11", {"a": server("a", 1, 4), "b": server("b", 4, 2)}, 11, True),
    ("one overlay alone over", {"a": server("a", 2, 5)}, 9, True),
    (
        "a DaemonSet's count cannot be told: no sum",
        {"a": server("a", 4, 4), "d": server("d", 1, None, kind="DaemonSet")},
        8,
        False,
    ),
    (
        "another namespace does not count",
        {"a": server("a", 1, 4), "b": server("b", 4, 2, namespace="batch")},
        4,
        False,
    ),
]


@pytest.mark.parametrize(("case", "overlays", "hard", "reported"), TABLE, ids=[row[0] for row in TABLE])
def test_fleet_quota_table(case, overlays, hard, reported):
    found = where(fleet_findings("fleet-quota", overlays, quota(hard)))
    assert found == ([("error", "ResourceQuota", "gpu", QUOTA_PATH)] if reported else [])


def test_the_message_names_each_overlay_and_the_total():
    (row,) = fleet_findings("fleet-quota", {"a": server("a", 1, 4), "b": server("b", 4, 2)}, quota(11))
    message = row[4]
    assert "needs 12 nvidia.com/gpu in namespace 'inference'" in message
    assert "a: 4 × 1" in message and "b: 2 × 4" in message and "the quota allows 11" in message


def test_a_workload_without_a_scaler_counts_its_own_replicas():
    # No ScaledObject: spec.replicas absent means 1 replica x 4 GPUs; 4 > 3.
    found = where(fleet_findings("fleet-quota", {"a": server("a", 4, None)}, quota(3)))
    assert found == [("error", "ResourceQuota", "gpu", QUOTA_PATH)]
    assert fleet_findings("fleet-quota", {"a": server("a", 4, None)}, quota(4)) == []
