"""The kubeconform adapter: its command line, its JSON output mapped to findings, and the
real binary where it is installed (the GitHub workflow installs it and sets
LLMFLEET_REQUIRE_KUBECONFORM=1; it cannot be installed on the CI machine of this repository)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from llmfleet import exitcodes
from llmfleet.manifests import load_text
from llmfleet.validate import kubeconform

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: my-app}
spec:
  replicas: "two"
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: c, image: busybox:1.36}]}
"""


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """kubeconform downloads the built-in schemas itself: these tests run it online (the
    fake and missing binaries never reach the network)."""
    monkeypatch.delenv("LLMFLEET_OFFLINE", raising=False)


def test_kubeconform_refuses_offline(cli, empty_repo, monkeypatch):
    (empty_repo / "d.yaml").write_text(DEPLOYMENT)
    result = cli(["validate", "--validator", "kubeconform", "--offline", "d.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.USAGE
    assert "--validator kubeconform cannot run offline" in result.stderr


def test_auto_picks_jsonschema_offline_even_with_kubeconform(cli, empty_repo, monkeypatch, tmp_path):
    fake = tmp_path / "kubeconform"
    fake.write_text("#!/bin/sh\necho 'must not run offline' >&2\nexit 2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    (empty_repo / "d.yaml").write_text(DEPLOYMENT)
    result = cli(["validate", "--offline", "--format", "json", "d.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["/spec/replicas"]


def test_command_line():
    argv = kubeconform.command("1.33.0", ["/s/{{.Group}}/{{.ResourceKind}}.json"], True, "kc")
    assert argv == [
        "kc",
        "-output",
        "json",
        "-strict",
        "-summary",
        "-kubernetes-version",
        "1.33.0",
        "-schema-location",
        "default",
        "-schema-location",
        "/s/{{.Group}}/{{.ResourceKind}}.json",
        "-ignore-missing-schemas",
        "-",
    ]


def test_parse_report_maps_results_to_objects():
    resources, _ = load_text(DEPLOYMENT, "d.yaml")
    # The documented -output json shape (kubeconform pkg/output/json_test.go).
    report = {
        "resources": [
            {
                "filename": "stdin",
                "kind": "Deployment",
                "name": "my-app",
                "version": "apps/v1",
                "status": "statusInvalid",
                "msg": "…",
                "validationErrors": [{"path": "/spec/replicas", "msg": "got string, want null or integer"}],
            },
            {
                "filename": "stdin",
                "kind": "Widget",
                "name": "w",
                "version": "example.com/v1",
                "status": "statusError",
                "msg": "could not find schema for Widget",
            },
        ],
        "summary": {"valid": 0, "invalid": 1, "errors": 1, "skipped": 0},
    }
    findings = kubeconform.parse_report(report, resources)
    assert [(f.rule, f.kind, f.name, f.path, f.line, f.message) for f in findings] == [
        ("schema", "Deployment", "my-app", "/spec/replicas", 5, "got string, want null or integer"),
        ("schema-missing", "Widget", "w", "", 0, "could not find schema for Widget (reported once per kind)"),
    ]


def test_parse_report_missing_and_undownloadable_schemas_once_per_kind():
    resources, _ = load_text(DEPLOYMENT, "d.yaml")
    failed = "failed downloading schema at https://x/widget_v1.json: dial tcp: no such host"
    report = {
        "resources": [
            {
                "filename": "stdin",
                "kind": "Widget",
                "name": f"w{i}",
                "version": "example.com/v1",
                "status": "statusError",
                "msg": failed,
            }
            for i in range(3)
        ]
    }
    findings = kubeconform.parse_report(report, resources)
    assert [(f.rule, f.name) for f in findings] == [("schema-missing", "w0")]
    assert kubeconform.parse_report(report, resources, ignore_missing=True) == []


def test_missing_kubeconform_is_exit_3(cli, empty_repo, monkeypatch, tmp_path):
    (empty_repo / "d.yaml").write_text(DEPLOYMENT)
    monkeypatch.setenv("PATH", str(tmp_path))
    result = cli(["validate", "--validator", "kubeconform", "d.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.TOOL
    assert "kubeconform: not found on PATH" in result.stderr
    assert "go install github.com/yannh/kubeconform" in result.stderr


def test_failing_kubeconform_reports_command_code_and_output(cli, empty_repo, monkeypatch, tmp_path):
    fake = tmp_path / "kubeconform"
    fake.write_text("#!/bin/sh\necho 'flag provided but not defined: -bogus' >&2\nexit 2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    (empty_repo / "d.yaml").write_text(DEPLOYMENT)
    result = cli(["validate", "--validator", "kubeconform", "d.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.TOOL
    assert "kubeconform: failed" in result.stderr
    assert "exit code: 2" in result.stderr and "flag provided but not defined" in result.stderr
    assert f"command: {fake} -output json" in result.stderr


@pytest.mark.kubeconform
def test_real_kubeconform(cli, empty_repo):
    if not shutil.which("kubeconform"):
        if os.environ.get("LLMFLEET_REQUIRE_KUBECONFORM") == "1":
            pytest.fail("kubeconform must be installed where LLMFLEET_REQUIRE_KUBECONFORM=1")
        pytest.skip(
            "kubeconform is not installed (cannot be on this machine: it downloads from "
            "GitHub); the GitHub workflow runs this test"
        )
    (empty_repo / "d.yaml").write_text(DEPLOYMENT)
    result = cli(["validate", "--validator", "kubeconform", "--format", "json", "d.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["path"]) for f in findings] == [("schema", "/spec/replicas")]
