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
    assert p99 > 0, "the default spike is expected to make some request wait"
    lenient = dict.fromkeys(("queue_wait_p95_s", "queue_wait_p99_s", "ttft_p95_s", "ttft_p99_s"), 3 * 3600)
    lenient["reason"] = "overnight batch summaries; callers poll for results"
    (overlay / "capacity.yaml").write_text(yaml.safe_dump({"slo": lenient}))
    result = cli(["simulate", overlay.name, "--format", "json"], cwd=repo_copy)
    report = json.loads(result.stdout)
    assert report["summary"]["slo"]["queue_wait_p99_s"] == 3 * 3600
    assert report["summary"]["slo"]["reason"] == lenient["reason"]
    assert "slo-breached" not in {f["id"] for f in report["flags"]}
    text = cli(["simulate", overlay.name], cwd=repo_copy).stdout
    assert f"why: {lenient['reason']}" in text
    strict = {"queue_wait_p99_s": p99 / 2}  # stricter than the default: no reason needed
    (overlay / "capacity.yaml").write_text(yaml.safe_dump({"slo": strict}))
    result = cli(["simulate", overlay.name, "--format", "json"], cwd=repo_copy)
    assert result.exit_code == exitcodes.FINDINGS
    messages = [f["message"] for f in json.loads(result.stdout)["flags"] if f["id"] == "slo-breached"]
    assert len(messages) == 1 and messages[0].startswith("queue_wait_p99 is")


@pytest.mark.parametrize(
    "slo, field",
    [
        ({"queue_wait_p99_s": 1800}, "slo.queue_wait_p99_s"),
        ({"ttft_p95_s": 66, "reason": "  "}, "slo.ttft_p95_s"),
    ],
)
def test_an_objective_looser_than_the_default_needs_a_reason(cli, repo_copy, slo, field):
    """A relaxed objective is a decision about the model's users: without a reason the file is
    refused (exit 2, naming the file, the missing reason and the loosened bound)."""
    overlay = repo_copy / "overlays" / "mistral-7b-instruct-v0-3"
    (overlay / "capacity.yaml").write_text(yaml.safe_dump({"slo": slo}))
    for command in (["simulate", overlay.name], ["simulate", overlay.name, "--format", "json"]):
        result = cli(command, cwd=repo_copy)
        assert result.exit_code == exitcodes.USAGE, (command, result.stdout, result.stderr)
        assert "capacity.yaml" in result.stderr and "slo.reason: missing" in result.stderr
        assert field in result.stderr and "Traceback" not in result.stderr


def test_the_repository_s_overlays_meet_their_objective_under_the_default_spike(cli, repo_copy):
    """The shipped overlays carry the warm headroom (or fixed size) their objective needs
    (docs/deploying.md §9.5): no breach, no other error."""
    for overlay in overlay_names():
        result = cli(["simulate", overlay, "--format", "json"], cwd=repo_copy)
        report = json.loads(result.stdout)
        errors = [f for f in report["flags"] if f["severity"] == "error"]
        assert result.exit_code == exitcodes.OK and not errors, (overlay, errors)
        assert report["summary"]["wait_p99_s"] <= report["summary"]["slo"]["queue_wait_p99_s"]


def test_a_wrong_objective_names_the_file_and_field(cli, repo_copy):
    overlay = repo_copy / "overlays" / "mistral-7b-instruct-v0-3"
    (overlay / "capacity.yaml").write_text("slo:\n  queue_wait_p99_s: soon\n")
    result = cli(["simulate", overlay.name], cwd=repo_copy)
    assert result.exit_code == exitcodes.USAGE
    assert "capacity.yaml" in result.stderr and "slo.queue_wait_p99_s" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_scale_up_of_one_pod_per_ten_minutes_is_flagged(cli, repo_copy):
    overlay = repo_copy / "overlays" / "llama-3-1-8b-instruct"
    # From one warm replica (the shipped overlay keeps 3 warm, so only one pod is ever added):
    # the spike then needs three pods added, ten minutes apart.
    cold = [{"op": "replace", "path": "/spec/minReplicaCount", "value": 1}]
    (overlay / "patch-slow-scale-up.yaml").write_text(yaml.safe_dump(ONE_POD_PER_TEN_MINUTES + cold))
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
