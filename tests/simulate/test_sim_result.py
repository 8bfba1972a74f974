"""The result: JSON, text report, plot."""

from __future__ import annotations

import json

import pytest
from sim_testlib import make_replica

from llmfleet.features.simulate import ScalingSpec, Trigger, plot, simulate, spike


@pytest.fixture(scope="module")
def result():
    replica = make_replica(startup_s=120.0)
    mu = replica.capacity_rps(1024, 256)
    slow = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 600}]}}
    spec = ScalingSpec(
        triggers=(Trigger("queue", "queue", 5.0),),
        min_replicas=1,
        max_replicas=4,
        behavior=slow,
        name="slow-server",
    )
    return simulate(spec, replica, spike(0.5 * mu, 3 * mu, 300, 2400, 600))


def test_json_round_trip(result):
    data = json.loads(result.to_json())
    assert data["ok"] is False
    assert {f["id"] for f in data["flags"]} >= {"slow-to-absorb"}
    assert len(data["timeline"]["time_s"]) == len(data["timeline"]["waiting"]) > 100
    assert data["summary"]["gpu_hours"] > 0 and data["summary"]["cost"] == pytest.approx(
        data["summary"]["gpu_hours"] * 0.7, rel=1e-3
    )
    assert data["events"][0]["by"] == "hpa"
    assert data["spec"]["behavior"]["scaleUp"]["policies"][0]["periodSeconds"] == 600


def test_report_names_the_problem(result):
    text = result.report()
    assert "slow-server" in text and "error: slow-to-absorb:" in text and text.rstrip().endswith("FLAGGED")
    assert "GPU-hours" in text


def test_plot_writes_a_png(result, tmp_path):
    pytest.importorskip("matplotlib")
    path = plot(result, tmp_path / "sim.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
