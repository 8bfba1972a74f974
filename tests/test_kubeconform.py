"""The kubeconform adapter: its command line, its JSON output mapped to findings, and the
real binary (`make tools` builds the pinned one into .venv/bin; .ci/run sets
LLMFLEET_REQUIRE_KUBECONFORM=1, so these tests fail there rather than skip)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from llmfleet.infra import exitcodes
from llmfleet.pipeline.manifests import load_text
from llmfleet.pipeline.validate import kubeconform
from llmfleet_testlib import REPO_ROOT, require

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


def test_auto_picks_jsonschema_offline_even_with_kubeconform(cli, empty_repo, monkeypatch, tmp_path):
    fake = tmp_path / "kubeconform"
    fake.write_text("#!/bin/sh\necho 'must not run offline' >&2\nexit 2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    (empty_repo / "d.yaml").write_text(DEPLOYMENT)
    result = cli(["validate", "--offline", "--format", "json", "d.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["/spec/replicas"]


def test_command_line_puts_local_locations_first_and_default_last():
    argv = kubeconform.command(
        "1.33.0",
        ["https://x/{{.Group}}.json", "default", "/s/{{.Group}}/{{.ResourceKind}}.json"],
        True,
        "kc",
        builtin="/b/{{ .ResourceKind }}{{ .KindSuffix }}.json",
    )
    assert argv == [
        "kc",
        "-output",
        "json",
        "-strict",
        "-summary",
        "-kubernetes-version",
        "1.33.0",
        "-schema-location",
        "/b/{{ .ResourceKind }}{{ .KindSuffix }}.json",
        "-schema-location",
        "/s/{{.Group}}/{{.ResourceKind}}.json",
        "-schema-location",
        "https://x/{{.Group}}.json",
        "-schema-location",
        "default",
        "-ignore-missing-schemas",
        "-",
    ]


def test_offline_command_has_no_remote_location():
    argv = kubeconform.command(
        "1.33.0", ["https://x/{{.Group}}.json", "/s/{{.ResourceKind}}.json"], False, "kc", offline=True
    )
    locations = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-schema-location"]
    assert locations == ["/s/{{.ResourceKind}}.json"]


def test_stream_is_the_loaded_objects_as_json():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 'y', b: '0o17', c: 'é'}\n"
    resources, _ = load_text(text, "c.yaml")
    documents = [d for d in kubeconform.stream(resources).split("---\n") if d]
    assert [json.loads(d) for d in documents] == [r.data for r in resources]
    assert json.loads(documents[0])["data"] == {"a": "y", "b": "0o17", "c": "é"}


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
    assert "make tools" in result.stderr


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


def require_kubeconform() -> None:
    require(
        shutil.which("kubeconform") is not None or os.environ.get("LLMFLEET_REQUIRE_KUBECONFORM") == "1",
        "kubeconform is not installed: `make tools` builds the pinned one into .venv/bin",
    )
    if not shutil.which("kubeconform"):
        pytest.fail("kubeconform must be on PATH where LLMFLEET_REQUIRE_KUBECONFORM=1")


@pytest.mark.kubeconform
@pytest.mark.parametrize("offline", [True, False])
def test_real_kubeconform_from_local_schemas(cli, empty_repo, monkeypatch, offline):
    """Built-in kinds and vendored CRDs both come from local folders: offline, and online with
    a remote location that cannot answer (port 9, discard) listed before the local one."""
    require_kubeconform()
    if offline:
        monkeypatch.setenv("LLMFLEET_OFFLINE", "1")
    (empty_repo / "llmfleet.yaml").write_text(
        "validate:\n  schema-locations:\n"
        '    - "http://127.0.0.1:9/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"\n'
        f'    - "{REPO_ROOT}/schemas/crds/{{{{.Group}}}}/{{{{.ResourceKind}}}}_{{{{.ResourceAPIVersion}}}}.json"\n'
    )
    # A valid trigger: the KEDA CRD (v2.20) requires at least one; the unknown field is the defect.
    scaled = (
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec: {scaleTargetRef: {name: x}, bogus: 1,"
        " triggers: [{type: prometheus, metadata: {serverAddress: 'http://p:9090', query: q, threshold: '1'}}]}\n"
    )
    (empty_repo / "d.yaml").write_text(DEPLOYMENT + "---\n" + scaled)
    result = cli(["validate", "--validator", "kubeconform", "--format", "json", "d.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["kind"], f["path"]) for f in findings] == [
        ("schema", "Deployment", "/spec/replicas"),
        ("schema", "ScaledObject", "/spec"),
    ]
    assert "bogus" in findings[1]["message"]


@pytest.mark.kubeconform
def test_real_kubeconform_passes_the_repository(cli, repo_copy, monkeypatch):
    require_kubeconform()
    monkeypatch.setenv("LLMFLEET_OFFLINE", "1")
    result = cli(["check", "--validator", "kubeconform", "--format", "json"], cwd=repo_copy)
    assert result.exit_code == exitcodes.OK, result.stdout + result.stderr
    assert json.loads(result.stdout)["summary"]["objects"] > 50


def test_standalone_schema_writes_definitions_in_place_and_keeps_recursion():
    from llmfleet.pipeline.validate import kubeconform_schemas

    definitions = {
        "Spec": {
            "type": "object",
            "properties": {"replicas": {"type": "integer"}, "node": {"$ref": "#/$defs/Node"}},
        },
        "Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}},
    }
    kind = {
        "$id": "https://kubernetes.io/api/x",
        "properties": {"spec": {"$ref": "/api/_definitions.json#/$defs/Spec", "description": "the spec"}},
    }
    schema = kubeconform_schemas.standalone(kind, definitions)
    spec = schema["properties"]["spec"]
    assert "$id" not in schema and "$ref" not in spec
    assert spec["properties"]["replicas"] == {"type": "integer"}
    # Node refers to itself: written in place once, then a local $ref into $defs.
    node = spec["properties"]["node"]
    assert node["properties"]["child"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"]["Node"]["properties"]["child"] == {"$ref": "#/$defs/Node"}


def test_prepare_writes_only_built_in_kinds(tmp_path):
    from llmfleet.pipeline.validate import kubeconform_schemas

    location = kubeconform_schemas.prepare(
        {("apps/v1", "Deployment"), ("keda.sh/v1alpha1", "ScaledObject")}, "1.33.0", tmp_path
    )
    assert location is not None and location.endswith("{{ .ResourceKind }}{{ .KindSuffix }}.json")
    folder = Path(location).parent
    assert sorted(p.name for p in folder.iterdir()) == ["deployment-apps-v1.json"]
    schema = json.loads((folder / "deployment-apps-v1.json").read_text())
    assert "/api/_definitions.json" not in json.dumps(schema)
    assert schema["properties"]["spec"]["properties"]["replicas"]["type"] == ["integer", "null"]
