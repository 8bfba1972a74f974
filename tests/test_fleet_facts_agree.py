"""cost, diff, fleet-quota and gpu-fit read the same facts from the fleet model: the GPU class
from any known node label, and one definition of "GPUs at maximum scale" — for a Deployment
pinned with GKE's label, a StatefulSet, and a LeaderWorkerSet group."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from llmfleet.features.cost import estimate
from llmfleet.features.diff import rendered as diff
from llmfleet.model import FleetModel, OverlayModel
from llmfleet.model.k8s import Resource
from llmfleet.pipeline.lint.engine import RuleSet, lint_fleet, lint_model

SERVED = "meta-llama/Llama-3.1-8B-Instruct"


def _pod(gpus: int, selection: str, max_len: int, util: str = "0.92") -> str:
    return textwrap.indent(
        textwrap.dedent(f"""\
        metadata: {{labels: {{app: m}}}}
        spec:
          {selection}
          tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]
          containers:
            - name: vllm
              image: vllm/vllm-openai:v0.33.0
              args: [{SERVED}, --max-model-len, "{max_len}", --tensor-parallel-size, "{gpus}",
                     --gpu-memory-utilization, "{util}"]
              resources: {{limits: {{nvidia.com/gpu: {gpus}}}}}
        """),
        "    ",
    )


GKE = "nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4}"
AFFINITY = (
    "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: "
    "[{matchExpressions: [{key: nvidia.com/gpu.product, operator: In, values: [NVIDIA-L4]}]}]}}}"
)


def workload(kind: str, max_len: int, util: str) -> str:
    if kind == "Deployment":
        return f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: m, namespace: llm}}\nspec:\n  template:\n{_pod(1, GKE, max_len, util)}"
    if kind == "StatefulSet":
        return f"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: m, namespace: llm}}\nspec:\n  template:\n{_pod(2, AFFINITY, max_len, util)}"
    pod = _pod(4, GKE, max_len, util).replace("\n    ", "\n        ")
    return (
        "apiVersion: leaderworkerset.x-k8s.io/v1\nkind: LeaderWorkerSet\nmetadata: {name: m, namespace: llm}\n"
        f"spec:\n  leaderWorkerTemplate:\n    size: 2\n    workerTemplate:\n    {pod}"
    )


SCALER = {
    "Deployment": ("apps/v1", "Deployment"),
    "StatefulSet": ("apps/v1", "StatefulSet"),
    "LeaderWorkerSet": ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"),
}


def objects(kind: str, max_len: int = 8192, util: str = "0.92") -> list[dict]:
    api, target = SCALER[kind]
    text = workload(kind, max_len, util) + textwrap.dedent(f"""
        ---
        apiVersion: keda.sh/v1alpha1
        kind: ScaledObject
        metadata: {{name: m, namespace: llm}}
        spec:
          scaleTargetRef: {{apiVersion: {api}, kind: {target}, name: m}}
          minReplicaCount: 1
          maxReplicaCount: 3
          triggers: []
        """)
    return [d for d in yaml.safe_load_all(text) if d]


def model_of(objs: list[dict], name: str = "m") -> OverlayModel:
    return OverlayModel(name, [Resource(o, "<rendered>", i, overlay=name) for i, o in enumerate(objs)])


# GPUs per replica (pod or group) and at maximum scale (3 replicas)
EXPECTED = {"Deployment": (1, 3), "StatefulSet": (2, 6), "LeaderWorkerSet": (8, 24)}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_cost_diff_quota_and_fit_agree(kind):
    per_replica, at_max = EXPECTED[kind]
    objs = objects(kind)
    model = model_of(objs)

    priced = estimate.overlay_cost(model)
    assert priced is not None and priced.gpu.name == "l4"
    assert (priced.gpus_per_pod, priced.max_replicas) == (per_replica, 3)
    assert priced.gpus_per_pod * priced.max_replicas == at_max

    gpus, per_day = diff.max_scale(objs)
    assert gpus == at_max and per_day == pytest.approx(at_max * priced.gpu.price_per_hour * 24)

    def quota(hard: int) -> OverlayModel:
        return model_of(
            [
                {
                    "apiVersion": "v1",
                    "kind": "ResourceQuota",
                    "metadata": {"name": "gpu", "namespace": "llm"},
                    "spec": {"hard": {"requests.nvidia.com/gpu": str(hard)}},
                }
            ],
            "platform",
        )

    rules = RuleSet.configure()
    over = [
        f for f in lint_fleet(FleetModel({"m": model}, quota(at_max - 1)), rules) if f.rule == "fleet-quota"
    ]
    assert len(over) == 1 and f"needs {at_max} nvidia.com/gpu" in over[0].message
    assert [
        f for f in lint_fleet(FleetModel({"m": model}, quota(at_max)), rules) if f.rule == "fleet-quota"
    ] == []

    assert [f for f in lint_model(model, rules) if f.rule == "gpu-fit"] == []
    # 128k tokens in 40% of each L4: too much whatever the tensor-parallel size
    too_long = [f for f in lint_model(model_of(objects(kind, 131072, "0.4")), rules) if f.rule == "gpu-fit"]
    assert len(too_long) == 1
    assert (
        f"does not fit {per_replica // (2 if kind == 'LeaderWorkerSet' else 1)} x l4" in too_long[0].message
    )
