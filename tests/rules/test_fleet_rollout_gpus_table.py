"""fleet-rollout-gpus, edge by edge: a rolling update creates maxSurge extra pods (default 25%
of the replicas, rounded up; apps/v1 DeploymentStrategy) on top of the fleet at maximum scale;
their GPUs must fit the namespace's quota too."""

from __future__ import annotations

import pytest

from rule_tables import fleet_findings, where

QUOTA = """
apiVersion: v1
kind: ResourceQuota
metadata: {name: gpu, namespace: inference}
spec: {hard: {requests.nvidia.com/gpu: "%d"}}
"""


def server(name: str, gpus: int, max_replicas: int, strategy: str = "") -> str:
    strategy_line = f"\n  strategy: {strategy}" if strategy else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: inference}}
spec:{strategy_line}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.33.0
          args: [meta-llama/Llama-3.1-8B-Instruct]
          resources: {{limits: {{nvidia.com/gpu: {gpus}}}, requests: {{nvidia.com/gpu: {gpus}}}}}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {{name: {name}, namespace: inference}}
spec: {{scaleTargetRef: {{name: {name}}}, minReplicaCount: 1, maxReplicaCount: {max_replicas}}}
"""


NO_SURGE = "{type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}"
TABLE = [
    # (case, gpus per replica, max replicas, strategy, quota, pointer or None)
    ("no surge", 1, 4, NO_SURGE, 4, None),
    ("Recreate", 1, 4, "{type: Recreate}", 4, None),
    ("default 25% of 4 = 1 pod: 4 + 1 > 4", 1, 4, "", 4, "/spec"),
    ("default 25% of 4 = 1 pod: 4 + 1 = 5 fits", 1, 4, "", 5, None),
    ("25% of 5 rounds up to 2: 5 + 2 > 6", 1, 5, "{type: RollingUpdate}", 6, "/spec/strategy"),
    ("25% of 5 rounds up to 2: 5 + 2 = 7 fits", 1, 5, "{type: RollingUpdate}", 7, None),
    (
        "maxSurge 1 of 4 GPUs: 8 + 4 > 11",
        4,
        2,
        "{rollingUpdate: {maxSurge: 1}}",
        11,
        "/spec/strategy/rollingUpdate/maxSurge",
    ),
    ("maxSurge 1 of 4 GPUs: 8 + 4 = 12 fits", 4, 2, "{rollingUpdate: {maxSurge: 1}}", 12, None),
    (
        "maxSurge 50%: 1 of 2 pods",
        1,
        2,
        '{rollingUpdate: {maxSurge: "50%"}}',
        2,
        "/spec/strategy/rollingUpdate/maxSurge",
    ),
]


@pytest.mark.parametrize(
    ("case", "gpus", "replicas", "strategy", "hard", "pointer"), TABLE, ids=[r[0] for r in TABLE]
)
def test_fleet_rollout_gpus_table(case, gpus, replicas, strategy, hard, pointer):
    found = where(
        fleet_findings("fleet-rollout-gpus", {"a": server("a", gpus, replicas, strategy)}, QUOTA % hard)
    )
    assert found == ([("warning", "Deployment", "a", pointer)] if pointer else [])


def test_no_quota_no_finding():
    assert fleet_findings("fleet-rollout-gpus", {"a": server("a", 1, 4)}) == []


def test_the_other_overlays_count_and_the_message_shows_the_sum():
    overlays = {"a": server("a", 1, 4), "b": server("b", 4, 2, NO_SURGE)}
    (row,) = fleet_findings("fleet-rollout-gpus", overlays, QUOTA % 12)  # 4 + 8 + 1 > 12
    assert row[2] == "a"
    assert "surges 1 pod(s) × 1 GPUs at maximum scale: 12 + 1 = 13 GPUs, above the quota of 12" in row[4]
