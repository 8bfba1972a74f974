"""Rule options and ids from llmfleet.yaml and the command line: validated, or a usage error
naming what is wrong (exit 2)."""

from __future__ import annotations

import json

import yaml

from llmfleet.infra import exitcodes

TWITCHY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: m}
spec:
  template:
    spec:
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.33.0
          args: [m, --shutdown-timeout, "30"]
          startupProbe: {httpGet: {path: /health, port: 8000}, failureThreshold: 90, periodSeconds: 10}
          livenessProbe: {httpGet: {path: /health, port: 8000}, failureThreshold: 8, periodSeconds: 10}
"""


def _configure(root, **lint):
    config = yaml.safe_load((root / "llmfleet.yaml").read_text())
    config["lint"] = {**config.get("lint", {}), **lint}
    (root / "llmfleet.yaml").write_text(yaml.safe_dump(config))


def _liveness(cli, root):
    (root / "d.yaml").write_text(TWITCHY)
    result = cli(["lint", "--format", "json", "d.yaml"], cwd=root)
    return result, [
        f for f in json.loads(result.stdout)["findings"] if f["rule"] == "probe-liveness"
    ] if result.stdout.startswith("{") else []


def test_an_option_changes_what_the_rule_reports(cli, empty_repo):
    _, findings = _liveness(cli, empty_repo)
    assert findings == []  # 80 s ≥ the default 60 s
    _configure(empty_repo, rules={"probe-liveness": {"min-window-seconds": 90, "severity": "error"}})
    result, findings = _liveness(cli, empty_repo)
    assert [(f["severity"], "use at least 90 s" in f["message"]) for f in findings] == [("error", True)]
    assert result.exit_code == exitcodes.FINDINGS


def test_unknown_option_type_or_rule_is_a_usage_error(cli, empty_repo):
    (empty_repo / "d.yaml").write_text(TWITCHY)
    for rules, message in [
        ({"probe-liveness": {"min-window": 90}}, "lint.rules.probe-liveness: unknown option min-window"),
        ({"probe-liveness": {"min-window-seconds": "ninety"}}, "'ninety' is not an integer"),
        (
            {"probe-livenes": {}},
            "llmfleet.yaml lint.rules probe-livenes: no such rule; did you mean probe-liveness",
        ),
        ({"probe-liveness": {"severity": "fatal"}}, "is not error, warning or info"),
    ]:
        _configure(empty_repo, rules=rules)
        result = cli(["lint", "d.yaml"], cwd=empty_repo)
        assert result.exit_code == exitcodes.USAGE, rules
        assert message in result.stderr, result.stderr


def test_disable_with_a_typo_names_the_close_matches(cli, empty_repo):
    (empty_repo / "d.yaml").write_text(TWITCHY)
    result = cli(["lint", "--disable", "probe-livness", "d.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.USAGE
    assert "--disable probe-livness: no such rule; did you mean probe-liveness" in result.stderr


def test_unknown_configuration_key_is_a_usage_error(cli, empty_repo):
    config = yaml.safe_load((empty_repo / "llmfleet.yaml").read_text())
    config["lint"]["gpu-taint-key"] = "x"  # moved to cluster: in this release
    (empty_repo / "llmfleet.yaml").write_text(yaml.safe_dump(config))
    result = cli(["rules"], cwd=empty_repo)
    assert result.exit_code == exitcodes.USAGE
    assert "unknown key lint.gpu-taint-key" in result.stderr


def test_rules_lists_the_severity_lint_reports(cli, empty_repo):
    _configure(empty_repo, rules={"probe-liveness": {"severity": "error"}}, **{"disabled-rules": ["gpu-shm"]})
    listed = {r["id"]: r for r in json.loads(cli(["rules", "--format", "json"], cwd=empty_repo).stdout)}
    assert listed["probe-liveness"]["severity"] == "error"
    assert listed["probe-liveness"]["default_severity"] == "warning"
    assert listed["gpu-shm"]["enabled"] is False
    text = cli(["rules"], cwd=empty_repo).stdout
    assert any(line.startswith("probe-liveness") and " error " in line for line in text.splitlines())
