"""gated-model-token: with no token, a model cache on a PersistentVolumeClaim or a hostPath
may already hold the weights, so the finding drops to a warning; an emptyDir cache does not
(issue 26, surviving mutants)."""

from __future__ import annotations

import pytest
from test_generalisation_tables import deployment

from rule_tables import findings

CACHE = "/root/.cache/huggingface"
VOLUMES = [
    # (case, volume source, severity, "unless the persistent cache..." in the message)
    ("hostPath", {"hostPath": {"path": "/models"}}, "warning", True),
    ("PVC", {"persistentVolumeClaim": {"claimName": "hf"}}, "warning", True),
    ("emptyDir", {"emptyDir": {}}, "error", False),
]


@pytest.mark.parametrize(("case", "source", "severity", "cached"), VOLUMES, ids=[r[0] for r in VOLUMES])
def test_cache_volume_kind(case, source, severity, cached):
    container = {
        "image": "vllm/vllm-openai:v0.33.0",
        "args": ["meta-llama/Llama-3.1-8B-Instruct"],
        "volumeMounts": [{"name": "cache", "mountPath": CACHE}],
    }
    text = deployment(container, pod={"volumes": [{"name": "cache", **source}]})
    rows = findings("gated-model-token", text)
    assert [r[:4] for r in rows] == [(severity, "Deployment", "m", "/spec/template/spec/containers/0")]
    assert ("unless the persistent cache already holds it" in rows[0][4]) is cached
    assert "meta-llama/Llama-3.1-8B-Instruct" in rows[0][4]
