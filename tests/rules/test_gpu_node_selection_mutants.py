"""gpu-node-selection: a pod requesting GPUs without choosing a GPU type is reported unless
every server of that pod serves a small model (issue 26, surviving mutants)."""

from __future__ import annotations

from test_generalisation_tables import TGI, deployment

from rule_tables import findings, where

GPU = {"resources": {"limits": {"nvidia.com/gpu": 1}}}


def tgi(name: str, model_id: str) -> str:
    return deployment({"image": TGI, "args": ["--model-id", model_id], **GPU}, name=name)


def test_each_pod_is_judged_by_its_own_servers_models():
    # A small model's pod stays quiet even next to a pod serving a large model; the large one
    # is reported.
    text = tgi("small", "Qwen/Qwen3-0.6B") + "\n---\n" + tgi("large", "meta-llama/Llama-3.1-8B-Instruct")
    assert where(findings("gpu-node-selection", text)) == [
        ("warning", "Deployment", "large", "/spec/template/spec")
    ]


def test_a_gpu_pod_serving_no_known_model_is_reported():
    text = deployment({"image": "busybox:1.36", "command": ["sleep", "1d"], **GPU}, name="job")
    assert where(findings("gpu-node-selection", text)) == [
        ("warning", "Deployment", "job", "/spec/template/spec")
    ]
