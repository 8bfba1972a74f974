"""``llmfleet simulate OVERLAY``: the report of each overlay's ScaledObject under the default
spike, and a deliberately bad ScaledObject (one pod per 10 minutes) flagged with exit 1."""

from __future__ import annotations

import json

import pytest
import yaml

from llmfleet.infra import exitcodes
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


SLO_PAIRS = (
    ("wait_p95_s", "queue_wait_p95_s"),
    ("wait_p99_s", "queue_wait_p99_s"),
    ("ttft_p95_s", "ttft_p95_s"),
    ("ttft_p99_s", "ttft_p99_s"),
)


@pytest.mark.parametrize("overlay", overlay_names())
def test_every_overlay_is_judged_against_its_latency_objective(cli, repo_copy, overlay):
    """The verdict follows the objective: never "ok" while requests wait longer than it allows
    (the default spike used to pass with a p99 wait of 26 minutes)."""
    result = cli(["simulate", overlay, "--format", "json"], cwd=repo_copy)
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["replicas_max"] >= 1 and report["replica"]["basis"] == "calibrated"
    breached = [name for simulated, name in SLO_PAIRS if summary[simulated] > summary["slo"][name]]
    errors = {f["id"] for f in report["flags"] if f["severity"] == "error"}
    assert ("slo-breached" in errors) == bool(breached), (breached, errors)
    assert result.exit_code == (exitcodes.FINDINGS if errors else exitcodes.OK), result.stderr
    if summary["wait_p99_s"] > 300:
        assert result.exit_code == exitcodes.FINDINGS and report["ok"] is False
    text = cli(["simulate", overlay], cwd=repo_copy).stdout
    assert text.startswith(f"simulation  {overlay}-server: default spike")
    assert "(calibrated on published vLLM measurements)" in text


def test_an_objective_in_capacity_yaml_replaces_the_default(cli, repo_copy):
    overlay = repo_copy / "overlays" / "mistral-7b-instruct-v0-3"
    default = json.loads(cli(["simulate", overlay.name, "--format", "json"], cwd=repo_copy).stdout)
    p99 = default["summary"]["wait_p99_s"]
    assert p99 > 300, "the repository's default spike is expected to breach the default objective"
    lenient = dict.fromkeys(("queue_wait_p95_s", "queue_wait_p99_s", "ttft_p95_s", "ttft_p99_s"), 3 * 3600)
    (overlay / "capacity.yaml").write_text(yaml.safe_dump({"slo": lenient}))
    report = json.loads(cli(["simulate", overlay.name, "--format", "json"], cwd=repo_copy).stdout)
    assert report["summary"]["slo"]["queue_wait_p99_s"] == 3 * 3600
    assert "slo-breached" not in {f["id"] for f in report["flags"]}
    strict = dict(lenient, queue_wait_p99_s=p99 / 2)
    (overlay / "capacity.yaml").write_text(yaml.safe_dump({"slo": strict}))
    result = cli(["simulate", overlay.name, "--format", "json"], cwd=repo_copy)
    assert result.exit_code == exitcodes.FINDINGS
    messages = [f["message"] for f in json.loads(result.stdout)["flags"] if f["id"] == "slo-breached"]
    assert len(messages) == 1 and messages[0].startswith("queue_wait_p99 is")


def test_a_wrong_objective_names_the_file_and_field(cli, repo_copy):
    overlay = repo_copy / "overlays" / "mistral-7b-instruct-v0-3"
    (overlay / "capacity.yaml").write_text("slo:\n  queue_wait_p99_s: soon\n")
    result = cli(["simulate", overlay.name], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE
    assert "capacity.yaml" in result.stderr and "slo.queue_wait_p99_s" in result.stderr
    assert "Traceback" not in result.stderr


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
