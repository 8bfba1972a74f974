"""`llmfleet gateway-routes` and the gateway-routes-stale rule: a new overlay cannot be
forgotten by the gateway."""

from __future__ import annotations

import json

import yaml

from llmfleet.infra import exitcodes
from llmfleet_testlib import copy_overlay

ROUTES = "platform/gateway/routes.yaml"


def test_committed_routes_are_current(cli, repo_copy):
    result = cli(["gateway-routes", "--check"], cwd=repo_copy)
    assert result.exit_code == exitcodes.OK, result.stdout
    assert result.stdout.strip() == f"{ROUTES} is up to date"


def test_new_overlay_makes_check_fail_until_routes_are_regenerated(cli, repo_copy):
    routed = yaml.safe_load((repo_copy / ROUTES).read_text())["models"]
    models, overlays = len(routed), len({m["overlay"] for m in routed})
    copy_overlay(repo_copy, "llama-3-1-8b-instruct", "llama-3-1-8b-canary", "llama-8b-canary")
    result = cli(["check", "--format", "json"], cwd=repo_copy)
    assert result.exit_code == exitcodes.FINDINGS
    stale = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "gateway-routes-stale"]
    assert [(f["file"], f["severity"]) for f in stale] == [(ROUTES, "error")]
    assert stale[0]["message"].startswith(
        "model 'llama-8b-canary' is missing (expected url "
        "http://llama-3-1-8b-canary-server.inference.svc.cluster.local:8000, overlay llama-3-1-8b-canary)"
    )

    verify = cli(["gateway-routes", "--check"], cwd=repo_copy)
    assert verify.exit_code == exitcodes.FINDINGS
    assert "model 'llama-8b-canary' is missing" in verify.stdout

    written = cli(["gateway-routes"], cwd=repo_copy)
    assert written.exit_code == exitcodes.OK
    assert written.stdout.strip() == f"wrote {ROUTES} ({models + 1} models from {overlays + 1} overlays)"
    assert "name: llama-8b-canary" in (repo_copy / ROUTES).read_text()
    again = cli(["check", "--format", "json"], cwd=repo_copy)
    assert again.exit_code == exitcodes.OK, again.stdout


def test_removed_routes_file_is_reported(cli, repo_copy):
    (repo_copy / ROUTES).unlink()
    result = cli(["check", "--format", "json", "overlays/mistral-7b-instruct-v0-3"], cwd=repo_copy)
    findings = [f for f in json.loads(result.stdout)["findings"] if f["rule"] == "gateway-routes-stale"]
    assert [f["message"] for f in findings] == [f"{ROUTES} does not exist; run `llmfleet gateway-routes`"]
