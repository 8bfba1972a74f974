"""instance-parallelism reads the vLLM settings from the ConfigMap named by the Workspace in
the Workspace's own namespace, not a same-named one elsewhere (issue 26, surviving mutants)."""

from __future__ import annotations

import json

import pytest

from rule_tables import findings, where

A100_1 = "Standard_NC24ads_A100_v4"  # one A100 per node


def configmap(namespace: str, tp: int) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "p", "namespace": namespace},
            "data": {"inference_config.yaml": json.dumps({"vllm": {"tensor-parallel-size": tp}})},
        }
    )


WORKSPACE = json.dumps(
    {
        "apiVersion": "kaito.sh/v1beta1",
        "kind": "Workspace",
        "metadata": {"name": "ws", "namespace": "a"},
        "resource": {"instanceType": A100_1},
        "inference": {"config": "p"},
    }
)

TABLE = [
    # (case, TP in the other namespace's ConfigMap (listed first), TP in the Workspace's, reported)
    ("own ConfigMap TP 1, another namespace's TP 2", 2, 1, False),
    ("own ConfigMap TP 2, another namespace's TP 1", 1, 2, True),
]


@pytest.mark.parametrize(("case", "other", "own", "reported"), TABLE, ids=[r[0] for r in TABLE])
def test_config_of_the_workspace_namespace(case, other, own, reported):
    text = "\n---\n".join([configmap("b", other), configmap("a", own), WORKSPACE])
    found = where(findings("instance-parallelism", text))
    assert found == ([("error", "Workspace", "ws", "/inference/config")] if reported else [])
