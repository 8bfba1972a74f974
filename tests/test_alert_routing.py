"""components/alert-routing: the AlertmanagerConfig that sends the fleet's alerts to
someone. Rendered with platform/ as the deploy guide enables it, validated against the
prometheus-operator CRD schema vendored in schemas/crds/, and checked to route every
severity the fleet's alerts use, for the namespace they carry, to receivers whose URLs come
from a Secret."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, require

SCHEMA = REPO_ROOT / "schemas" / "crds" / "monitoring.coreos.com" / "alertmanagerconfig_v1alpha1.json"


def _kubectl() -> str:
    venv = REPO_ROOT / ".venv" / "bin" / "kubectl"
    path = str(venv) if venv.is_file() else shutil.which("kubectl")
    require(bool(path), "kubectl not found (make setup installs it)")
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> list[dict]:
    """platform/ with the component enabled, as docs/deploying.md section 4.3 says."""
    root = tmp_path_factory.mktemp("repo")
    for folder in ("platform", "components"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    kustomization = root / "platform" / "kustomization.yaml"
    data = yaml.safe_load(kustomization.read_text())
    data.setdefault("components", []).append("../components/alert-routing")
    kustomization.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = subprocess.run(
        [_kubectl(), "kustomize", str(root / "platform")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    # Plain YAML 1.1 (PyYAML) must read it: no bare `=` value in the output.
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


@pytest.fixture(scope="module")
def config(rendered) -> dict:
    found = [d for d in rendered if d["kind"] == "AlertmanagerConfig"]
    assert len(found) == 1
    return found[0]


def test_validates_against_the_crd_schema(config):
    jsonschema = pytest.importorskip("jsonschema")
    require(SCHEMA.is_file(), f"{SCHEMA.relative_to(REPO_ROOT)} (vendored CRD schema) is missing")
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(config), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:200]}" for e in errors)
    assert config["apiVersion"] == "monitoring.coreos.com/v1alpha1"


def _fleet_alerts() -> list[dict]:
    rule = yaml.safe_load((REPO_ROOT / "base" / "prometheusrule.yaml").read_text())
    return [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]


def _route_for(route: dict, labels: dict) -> str:
    """The receiver Alertmanager picks for an alert with ``labels`` (equality matchers; the
    first matching child wins, as with continue: false)."""
    for child in route.get("routes", []):
        if all(labels.get(m["name"]) == m["value"] for m in child.get("matchers", [])):
            return _route_for(child, labels) if child.get("routes") else child["receiver"]
    return route["receiver"]


def test_every_fleet_alert_reaches_the_receiver_of_its_severity(config):
    overlay_namespace = yaml.safe_load(
        (REPO_ROOT / "overlays" / "llama-3-1-8b-instruct" / "kustomization.yaml").read_text()
    )["namespace"]
    # The operator adds namespace="<object namespace>" to the top route: the object must
    # live where the fleet's alerts come from.
    assert config["metadata"]["namespace"] == overlay_namespace
    route = config["spec"]["route"]
    severities = {r["labels"]["severity"] for r in _fleet_alerts()}
    assert severities == {"critical", "warning"}
    for alert in _fleet_alerts():
        labels = {"alertname": alert["alert"], **alert["labels"], "namespace": overlay_namespace}
        assert _route_for(route, labels) == f"fleet-{alert['labels']['severity']}", alert["alert"]
    for child in route["routes"]:
        for matcher in child["matchers"]:
            # Equality by default; never matchType "=", which kustomize prints bare.
            assert "matchType" not in matcher and "regex" not in matcher


def test_receiver_urls_come_from_a_secret(config):
    receivers = {r["name"]: r for r in config["spec"]["receivers"]}
    assert set(receivers) == {"fleet-critical", "fleet-warning"}
    keys = set()
    for receiver in receivers.values():
        assert set(receiver) == {"name", "webhookConfigs"}
        for hook in receiver["webhookConfigs"]:
            assert "url" not in hook, "a receiver URL in Git"
            assert hook["urlSecret"]["name"] == "llmfleet-alert-receivers"
            keys.add(hook["urlSecret"]["key"])
            assert hook["sendResolved"] is True
    assert keys == {"critical-url", "warning-url"}
    # the deploy guide creates that Secret with those keys
    guide = (REPO_ROOT / "docs" / "deploying.md").read_text()
    assert "create secret generic llmfleet-alert-receivers" in guide
    assert "--from-literal=critical-url=" in guide and "--from-literal=warning-url=" in guide


def test_applied_after_its_crd_and_the_namespace(config, rendered):
    annotations = config["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/sync-wave"] == "1"
    assert annotations["argocd.argoproj.io/sync-options"] == "SkipDryRunOnMissingResource=true"
    namespace = next(d for d in rendered if d["kind"] == "Namespace")
    assert namespace["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "-1"


def test_optional_platform_renders_without_it():
    proc = subprocess.run(
        [_kubectl(), "kustomize", str(REPO_ROOT / "platform")], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "kind: AlertmanagerConfig" not in proc.stdout
