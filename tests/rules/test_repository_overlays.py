"""The rules over this repository's rendered overlays (each rendered once per session): the
settings contract is understood (serve.yaml from the ConfigMap at /etc/vllm), no rule crashes,
and no rule reports an error — also across the fleet, with the platform's ResourceQuota."""

from __future__ import annotations

from llmfleet.model import FleetModel, OverlayModel
from llmfleet.pipeline.builtin_checks import RULE_CRASHED
from llmfleet.pipeline.lint.engine import RuleSet, lint_fleet, lint_model


def test_overlay_settings_and_rules(repository_model, overlay_name):
    model = repository_model.overlays[overlay_name]
    # One API server per overlay; a multi-node overlay's other pods are --headless workers
    # of the same engine, reading the same serve.yaml.
    assert len(model.api_servers) == 1
    s = model.api_servers[0]
    workers = [w for w in model.servers if w is not s]
    assert all(w.headless and w.workload is s.workload for w in workers)
    for server in model.servers:
        assert server.config_problem == "" and server.config_pointer == "/data/serve.yaml"
        assert server.model_id == s.model_id
    assert s.model_id and s.served_model_name
    assert (s.int_value("shutdown-timeout", 0) or 0) > 0 and s.port == 8000
    findings = lint_model(model, RuleSet.configure())
    assert [f.message for f in findings if f.rule == RULE_CRASHED] == []
    errors = [f"{f.rule} {f.path}: {f.message}" for f in findings if f.severity.value == "error"]
    assert errors == []


def test_fleet_rules_over_the_repository(repository_model):
    assert repository_model.platform.of_kind("ResourceQuota"), "the platform quota reaches fleet-quota"
    findings = lint_fleet(repository_model, RuleSet.configure())
    assert [f.message for f in findings if f.rule == RULE_CRASHED] == []
    assert [f.message for f in findings if f.severity.value == "error"] == []


def test_fleet_quota_sees_the_repository_quota(repository_model):
    """The quota check is live on the real fleet: with the quota cut below the fleet's GPUs at
    maximum scale, fleet-quota fails."""
    quota = repository_model.platform.of_kind("ResourceQuota")[0]
    total = sum(u.at_max or 0 for u in repository_model.accelerator_uses())
    data = {**quota.data, "spec": {"hard": {"requests.nvidia.com/gpu": str(total - 1)}}}
    cut = type(quota)(data, quota.file)
    platform = OverlayModel("platform", [cut])
    fleet = FleetModel(repository_model.overlays, platform, repository_model.cluster)
    findings = [f for f in lint_fleet(fleet, RuleSet.configure()) if f.rule == "fleet-quota"]
    assert len(findings) == 1 and f"needs {total}" in findings[0].message
