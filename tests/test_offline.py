"""Validation with no network: the vendored CRD schemas, a kind with no schema reported once
per kind with the locations tried, --ignore-missing-schemas, failed downloads, the cache,
and the checks every object still gets (apiVersion, kind, ObjectMeta)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml

from llmfleet.infra import exitcodes
from llmfleet.pipeline.validate import go_regex
from llmfleet_testlib import REPO_ROOT

WIDGETS = """\
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 1}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w2}
"""
GADGET = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n"
#: Nothing listens on port 9 of the loopback: a download fails at once, deterministically.
UNREACHABLE = "http://127.0.0.1:9/schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"


def findings(result) -> list[dict]:
    return json.loads(result.stdout)["findings"]


def set_locations(root: Path, locations: list[str]) -> None:
    path = root / "llmfleet.yaml"
    config = yaml.safe_load(path.read_text())
    config["validate"]["schema-locations"] = locations
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def fresh_clone(repo_copy) -> Path:
    """The repository copy with its own llmfleet.yaml and vendored schemas, as a clone has them."""
    shutil.copy(REPO_ROOT / "llmfleet.yaml", repo_copy / "llmfleet.yaml")
    shutil.copytree(REPO_ROOT / "schemas", repo_copy / "schemas")
    return repo_copy


def test_check_offline_with_vendored_schemas(cli, fresh_clone):
    result = cli(["check", "--offline", "--format", "json"], cwd=fresh_clone)
    assert result.exit_code == exitcodes.OK, result.stdout + result.stderr
    # Only the template's placeholder repository in argocd/ (a warning, docs/deploying.md 7.1).
    assert {f["rule"] for f in findings(result)} <= {"argocd-repo-placeholder"}


def test_vendored_crd_schema_catches_an_error_offline(cli, fresh_clone):
    # A typo in the base ScaledObject: only KEDA's vendored schema knows the field.
    scaled = fresh_clone / "base" / "scaledobject.yaml"
    scaled.write_text(scaled.read_text().replace("maxReplicaCount:", "maxReplicas:", 1))
    result = cli(["check", "--offline", "--format", "json"], cwd=fresh_clone)
    assert result.exit_code == exitcodes.FINDINGS
    schema = [f for f in findings(result) if f["rule"] == "schema"]
    assert schema and {f["kind"] for f in schema} == {"ScaledObject"}
    assert all(
        f["path"] == "/spec/maxReplicas" and "unknown field 'maxReplicas'" in f["message"] for f in schema
    )
    assert not [f for f in findings(result) if f["rule"] == "schema-missing"]


def test_unknown_crd_offline_is_reported_once_per_kind(cli, empty_repo):
    (empty_repo / "a.yaml").write_text(WIDGETS)
    (empty_repo / "b.yaml").write_text(WIDGETS.replace("w1", "w3").replace("w2", "w4") + "---\n" + GADGET)
    set_locations(
        empty_repo,
        [
            "schemas/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json",
            "https://schemas.example.com/{{.Group}}/{{.ResourceKind}}.json",
        ],
    )
    result = cli(["validate", "--offline", "--format", "json", "a.yaml", "b.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    missing = findings(result)
    assert [(f["rule"], f["kind"], f["name"], f["file"]) for f in missing] == [
        ("schema-missing", "Widget", "w1", "a.yaml"),
        ("schema-missing", "Gadget", "g", "b.yaml"),
    ]
    message = missing[0]["message"]
    assert "no schema for Widget (example.com/v1)" in message
    assert "schemas/example.com/widget_v1.json (not found)" in message
    assert "https://schemas.example.com/example.com/widget.json (not tried: offline" in message


def test_ignore_missing_schemas_offline_still_checks_metadata(cli, empty_repo):
    (empty_repo / "w.yaml").write_text(
        WIDGETS + "---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {nmae: typo}\n"
    )
    result = cli(
        ["validate", "--offline", "--ignore-missing-schemas", "--format", "json", "w.yaml"], cwd=empty_repo
    )
    assert result.exit_code == exitcodes.FINDINGS
    assert [(f["rule"], f["path"], f["line"]) for f in findings(result)] == [
        ("schema", "/metadata", 12),
        ("schema", "/metadata/nmae", 12),
    ]
    assert "needs one of 'generateName', 'name'" in findings(result)[0]["message"]
    (empty_repo / "w.yaml").write_text(WIDGETS)
    result = cli(["validate", "--offline", "--ignore-missing-schemas", "w.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.OK, result.stdout


def test_failed_download_is_one_finding_per_kind_and_ignorable(cli, empty_repo, monkeypatch):
    monkeypatch.delenv("LLMFLEET_OFFLINE", raising=False)
    set_locations(empty_repo, [UNREACHABLE])
    (empty_repo / "w.yaml").write_text(WIDGETS + "---\n" + GADGET)
    # The in-process validator's report (with kubeconform on PATH, auto would pick it online).
    result = cli(["validate", "--validator", "jsonschema", "--format", "json", "w.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    by_kind = {f["kind"]: f for f in findings(result)}
    assert len(findings(result)) == 2 and {f["rule"] for f in findings(result)} == {"schema-missing"}
    widget, gadget = by_kind["Widget"], by_kind["Gadget"]
    assert widget["name"] == "w1"
    assert "http://127.0.0.1:9/schemas/example.com/widget_v1.json (download failed:" in widget["message"]
    assert "no network?" in widget["message"]
    assert "(not retried)" in gadget["message"]  # the host failed once: not asked again
    result = cli(
        ["validate", "--validator", "jsonschema", "--ignore-missing-schemas", "w.yaml"], cwd=empty_repo
    )
    assert result.exit_code == exitcodes.OK, result.stdout


def test_cached_download_is_used_offline(cli, empty_repo, schemas_dir, monkeypatch):
    url = "https://schemas.example.com/keda.sh/scaledobject_v1alpha1.json"
    set_locations(
        empty_repo, ["https://schemas.example.com/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"]
    )
    # The repository's own cache folder (the test session points LLMFLEET_CACHE_DIR elsewhere).
    monkeypatch.delenv("LLMFLEET_CACHE_DIR", raising=False)
    cache = empty_repo / ".llmfleet-cache" / "schemas"
    cache.mkdir(parents=True)
    shutil.copy(
        schemas_dir / "crds" / "keda.sh" / "scaledobject_v1alpha1.json",
        cache / (hashlib.sha256(url.encode()).hexdigest() + ".json"),
    )
    (empty_repo / "so.yaml").write_text(
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: so}\n"
        "spec: {scaleTargetRef: {name: d}, minReplicas: 1, triggers: [{type: cpu, metadata: {value: '50'}}]}\n"
    )
    result = cli(["validate", "--offline", "--format", "json", "so.yaml"], cwd=empty_repo)
    assert [(f["rule"], f["path"]) for f in findings(result)] == [("schema", "/spec/minReplicas")]


def test_without_a_config_the_vendored_schemas_are_used(cli, tmp_path):
    """`llmfleet validate` on another project's files (no llmfleet.yaml) from this checkout."""
    (tmp_path / "pr.yaml").write_text("""\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: r}
spec:
  groups:
    - name: g
      partial_response_strategy: ABORT
      rules: [{alert: Down, expr: up == 0, for: 5m}]
    - name: h
      partial_response_strategy: sometimes
      rules: [{alert: Down, expr: up == 0}]
""")
    result = cli(["validate", "--offline", "--format", "json", "pr.yaml"], cwd=tmp_path)
    # RE2's ^(?i)(abort|warn)?$ from prometheus-operator: ABORT matches, "sometimes" does not.
    assert [(f["rule"], f["path"]) for f in findings(result)] == [
        ("schema", "/spec/groups/1/partial_response_strategy")
    ]


def test_neighbour_crds_validate_offline(cli, tmp_path):
    (tmp_path / "n.yaml").write_text("""\
apiVersion: monitoring.coreos.com/v1alpha1
kind: AlertmanagerConfig
metadata: {name: am}
spec:
  route: {receiver: oncall, groupBy: [alertname]}
  receivers: [{name: oncall}]
  muteTimeIntervals:
    - name: weekends
      timeIntervals: [{weekdays: ["Saturday:sunday"], months: ["january:March"]}]
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  selector: {matchLabels: {app: r}}
  template: {metadata: {labels: {app: r}}, spec: {containers: [{name: c, image: busybox:1.36}]}}
  strategy: {canary: {steps: [{setWeight: 20}, {pause: {duration: 1h}}]}}
---
apiVersion: ray.io/v1
kind: RayService
metadata: {name: rs}
spec:
  rayClusterConfig:
    headGroupSpec:
      rayStartParams: {}
      template: {spec: {containers: [{name: head, image: rayproject/ray:2.40.0}]}}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: ks}
spec:
  template: {spec: {containers: [{image: ghcr.io/example/app:1.0}]}}
""")
    result = cli(["validate", "--offline", "--format", "json", "n.yaml"], cwd=tmp_path)
    assert result.exit_code == exitcodes.OK, result.stdout
    broken = (tmp_path / "n.yaml").read_text().replace("Saturday:sunday", "Caturday")
    (tmp_path / "n.yaml").write_text(broken.replace("setWeight: 20", "setWeigth: 20"))
    result = cli(["validate", "--offline", "--format", "json", "n.yaml"], cwd=tmp_path)
    assert sorted((f["kind"], f["path"]) for f in findings(result)) == [
        ("AlertmanagerConfig", "/spec/muteTimeIntervals/0/timeIntervals/0/weekdays/0"),
        ("Rollout", "/spec/strategy/canary/steps/0/setWeigth"),
    ]


@pytest.mark.parametrize(
    "pattern,translated",
    [
        ("^(?i)(abort|warn)?$", "^(?i:(abort|warn)?$)"),
        ("(a(?i)b|c)", "(a(?i:b)|(?i:c))"),
        ("^x\\z", "^x\\Z"),
        ("[(?i)]", "[(?i)]"),
        ("(?i)abc", "(?i)abc"),
    ],
)
def test_go_regex_translation(pattern, translated):
    assert go_regex.translate(pattern) == translated


def test_go_regex_semantics_and_uncompilable():
    weekday = go_regex.compile_pattern("^((?i)sun|mon|tues|wednes|thurs|fri|satur)day$")
    assert [bool(weekday.search(s)) for s in ("Monday", "SUNday", "Funday")] == [True, True, False]
    alternation = go_regex.compile_pattern("(a(?i)b|c)")
    assert [bool(alternation.fullmatch(s)) for s in ("aB", "C", "AB")] == [True, True, False]
    assert go_regex.compile_pattern("\\p{Greek}+") is None  # RE2-only: not checked, no crash
