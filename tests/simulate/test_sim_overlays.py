"""Every real overlay, modelled once per session, through the simulation with its default
spike (the inputs from llmfleet.features.simulate.overlay, what `llmfleet simulate` uses); and the
deliberately bad ScaledObject (scale-up policy of one pod per 10 minutes) flagged."""

from __future__ import annotations

import copy
import json

import pytest

from llmfleet.features.simulate import ScalingSpec, default_spike, simulate
from llmfleet.features.simulate.overlay import inputs_for
from llmfleet_testlib import overlay_names

ONE_POD_PER_TEN_MINUTES = {
    "stabilizationWindowSeconds": 0,
    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 600}],
}


def inputs(repository_model, overlay: str):
    [run] = inputs_for(repository_model.overlays[overlay])
    scaled = next(r.data for r in repository_model.overlays[overlay].of_kind("ScaledObject"))
    return scaled, run.spec, run.replica


@pytest.mark.parametrize("overlay", overlay_names())
def test_default_spike_report(repository_model, overlay):
    _, spec, replica = inputs(repository_model, overlay)
    assert {t.kind for t in spec.triggers} <= {
        "queue",
        "request_rate",
        "running",
        "kv_cache_usage",
        "kv_cache_usage_sum",
    }
    assert replica.startup_s is not None, f"{overlay}: the load estimate exceeds the startup probe"
    result = simulate(spec, replica, default_spike(replica, spec))
    text = result.report()
    assert text.startswith(f"simulation  {overlay}-server: default spike")
    if spec.max_replicas > spec.min_replicas:
        assert result.summary["replicas_max"] > spec.min_replicas, text
    else:
        # A fixed fleet (docs/deploying.md §9.5): the spike peaks at what it serves, nothing waits.
        assert result.summary["replicas_max"] == spec.min_replicas, text
        assert result.summary["wait_max_s"] == 0, text
    assert result.ok, text
    # The repository's own configurations absorb the default spike within the bound.
    assert "slow-to-absorb" not in {f.id for f in result.flags}, text
    assert "never-scales-out" not in {f.id for f in result.flags}, text
    json.loads(result.to_json())


@pytest.mark.parametrize("overlay", overlay_names())
def test_one_pod_per_ten_minutes_is_flagged(repository_model, overlay):
    scaled, good, replica = inputs(repository_model, overlay)
    bad = copy.deepcopy(scaled)
    bad["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleUp"] = ONE_POD_PER_TEN_MINUTES
    spec = ScalingSpec.from_scaled_object(bad)
    result = simulate(spec, replica, default_spike(replica, good))
    data = json.loads(result.to_json())
    flagged = "slow-to-absorb" in [f["id"] for f in data["flags"]]
    if spec.max_replicas - spec.hpa_min_replicas < 2:
        # One step to take: a one-pod policy allows it at once, so it is not slower here.
        assert not flagged, result.report()
        return
    assert data["ok"] is False
    assert flagged, result.report()
