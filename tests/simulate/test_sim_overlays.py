"""Every real overlay, rendered, through the simulation with its default spike; and the
deliberately bad ScaledObject (scale-up policy of one pod per 10 minutes) flagged.

The glue from rendered objects to the simulation's inputs lives here until the fleet model
provides it (ScaledObject -> ScalingSpec.from_scaled_object; serve.yaml, the GPU component and
the probes -> replica_from_sizing).
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from functools import cache

import pytest
import yaml

from llmfleet.simulate import ScalingSpec, default_spike, replica_from_sizing, simulate
from llmfleet_testlib import REPO_ROOT, require
from verify_testlib import single_node_overlays

try:  # the toolkit before the fleet model
    from llmfleet import catalog, sizing
except ImportError:  # llmfleet.model (the lead's refactoring)
    from llmfleet.model import catalog, sizing


def cold_load_s(model) -> int:
    """The toolkit's one cold-load estimate (what lint rule probe-startup expects)."""
    try:
        from llmfleet.model.vllm.startup import cold_load
        return cold_load(model.id).seconds
    except ImportError:
        from llmfleet.lint.rules._common import (
            COLD_LOAD_FLOOR_PARAMS_B,
            COLD_LOAD_FLOOR_S,
            COLD_LOAD_PER_BILLION_S,
        )
        return round(COLD_LOAD_FLOOR_S + max(0.0, model.params / 1e9 - COLD_LOAD_FLOOR_PARAMS_B)
                     * COLD_LOAD_PER_BILLION_S)


OVERLAYS = single_node_overlays()
ONE_POD_PER_TEN_MINUTES = {"stabilizationWindowSeconds": 0,
                           "policies": [{"type": "Pods", "value": 1, "periodSeconds": 600}]}


@cache
def rendered(overlay: str) -> tuple[dict, ...]:
    venv = REPO_ROOT / ".venv" / "bin" / "kubectl"
    kubectl = str(venv) if venv.is_file() else shutil.which("kubectl")
    require(kubectl is not None, "kubectl not found (make setup installs it into .venv)")
    proc = subprocess.run([kubectl, "kustomize", str(REPO_ROOT / "overlays" / overlay)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d)


def one(docs, kind, predicate=lambda d: True):
    [found] = [d for d in docs if d["kind"] == kind and predicate(d)]
    return found


def inputs(overlay: str):
    docs = rendered(overlay)
    scaled = one(docs, "ScaledObject")
    serve = yaml.safe_load(one(docs, "ConfigMap", lambda d: "serve.yaml" in (d.get("data") or {}))
                           ["data"]["serve.yaml"])
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    vllm = next(c for c in pod["containers"] if c["name"] == "vllm")
    gpu_class = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]["values"][0]
    model = catalog.find_model(serve["model"])
    tp = int(serve.get("tensor-parallel-size", 1))
    size = sizing.size(model, catalog.get_gpu(gpu_class), tp,
                       gpu_memory_utilization=float(serve.get("gpu-memory-utilization", 0.92)))
    load_s = cold_load_s(model)
    shutdown = int(vllm["args"][vllm["args"].index("--shutdown-timeout") + 1])
    replica = replica_from_sizing(size, int(serve["max-model-len"]), load_s=load_s,
                                  startup_probe=vllm["startupProbe"], readiness_probe=vllm["readinessProbe"],
                                  max_num_seqs=serve.get("max-num-seqs"), drain_s=shutdown, name=overlay)
    return scaled, replica


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_default_spike_report(overlay):
    scaled, replica = inputs(overlay)
    spec = ScalingSpec.from_scaled_object(scaled)
    assert {t.kind for t in spec.triggers} <= {"queue", "request_rate", "running", "kv_cache_usage",
                                              "kv_cache_usage_sum"}
    assert replica.startup_s is not None, f"{overlay}: the load estimate exceeds the startup probe"
    result = simulate(spec, replica, default_spike(replica, spec))
    text = result.report()
    assert text.startswith(f"simulation  {overlay}-server: default spike")
    assert result.summary["replicas_max"] > spec.min_replicas, text
    # The repository's own configurations absorb the default spike within the bound.
    assert "slow-to-absorb" not in {f.id for f in result.flags}, text
    assert "never-scales-out" not in {f.id for f in result.flags}, text
    json.loads(result.to_json())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_pod_per_ten_minutes_is_flagged(overlay):
    scaled, replica = inputs(overlay)
    bad = copy.deepcopy(scaled)
    bad["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleUp"] = ONE_POD_PER_TEN_MINUTES
    spec = ScalingSpec.from_scaled_object(bad)
    good = ScalingSpec.from_scaled_object(scaled)
    result = simulate(spec, replica, default_spike(replica, good))
    data = json.loads(result.to_json())
    flagged = "slow-to-absorb" in [f["id"] for f in data["flags"]]
    if spec.max_replicas - spec.hpa_min_replicas < 2:
        # One step to take: a one-pod policy allows it at once, so it is not slower here.
        assert not flagged, result.report()
        return
    assert data["ok"] is False
    assert flagged, result.report()
