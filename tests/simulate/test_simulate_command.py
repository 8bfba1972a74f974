"""``llmfleet simulate OVERLAY``: the report of each overlay's ScaledObject under the default
spike, and a deliberately bad ScaledObject (one pod per 10 minutes) flagged with exit 1."""

from __future__ import annotations

import json

import pytest
import yaml

from llmfleet import exitcodes
from llmfleet_testlib import overlay_names

ONE_POD_PER_TEN_MINUTES = [
    {
        "op": "replace",
        "path": "/spec/advanced/horizontalPodAutoscalerConfig/behavior/scaleUp",
        "value": {
            "stabilizationWindowSeconds": 0,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 600}],
        },
    }
]


@pytest.mark.parametrize("overlay", overlay_names())
def test_every_overlay_simulates_the_default_spike(cli, repo_copy, overlay):
    result = cli(["simulate", overlay, "--format", "json"], cwd=repo_copy)
    assert result.exit_code == exitcodes.OK, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["summary"]["replicas_max"] >= 1
    text = cli(["simulate", overlay], cwd=repo_copy).stdout
    assert text.startswith(f"simulation  {overlay}-server: default spike")


def test_a_scale_up_of_one_pod_per_ten_minutes_is_flagged(cli, repo_copy):
    overlay = repo_copy / "overlays" / "llama-3-1-8b-instruct"
    (overlay / "patch-slow-scale-up.yaml").write_text(yaml.safe_dump(ONE_POD_PER_TEN_MINUTES))
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    kustomization.setdefault("patches", []).append(
        {"path": "patch-slow-scale-up.yaml", "target": {"kind": "ScaledObject", "name": "server"}}
    )
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    result = cli(["simulate", "llama-3-1-8b-instruct", "--format", "json"], cwd=repo_copy)
    assert result.exit_code == exitcodes.FINDINGS, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    flagged = {f["id"]: f for f in report["flags"]}
    assert "slow-to-absorb" in flagged and flagged["slow-to-absorb"]["severity"] == "error"


def test_bad_input_is_a_usage_error(cli, repo_copy, tmp_path):
    assert cli(["simulate", "no-such-overlay"], cwd=repo_copy).exit_code == exitcodes.USAGE
    bad = tmp_path / "trace.csv"
    bad.write_text("time_s,rps,input_tokens,output_tokens\n0,abc,10,10\n")
    result = cli(["simulate", "llama-3-1-8b-instruct", "--trace", str(bad)], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE and "trace.csv" in result.stderr
