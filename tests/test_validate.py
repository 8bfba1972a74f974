"""Schema validation: built-in kinds strictly from kubernetes-validate's schemas, CRDs from
schema locations in kubeconform's template syntax."""

from __future__ import annotations

import json

import pytest

from llmfleet.infra import exitcodes
from llmfleet.pipeline.validate import locations, schemas

SCALED_OBJECT = """\
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: so}
spec:
  scaleTargetRef: {name: d}
  minReplicaCount: "one"
  triggers:
    - type: prometheus
      metadata: {serverAddress: "http://prometheus:9090", query: "sum(up)", threshold: "5"}
"""


@pytest.mark.parametrize(
    "api_version,kind,expected",
    [
        # The table in docs/reference/tooling.md §1.2.
        (
            "apps/v1",
            "Deployment",
            {
                "Group": "apps",
                "ResourceKind": "deployment",
                "ResourceAPIVersion": "v1",
                "KindSuffix": "-apps-v1",
            },
        ),
        (
            "v1",
            "Service",
            {"Group": "v1", "ResourceKind": "service", "ResourceAPIVersion": "v1", "KindSuffix": "-v1"},
        ),
        (
            "keda.sh/v1alpha1",
            "ScaledObject",
            {
                "Group": "keda.sh",
                "ResourceKind": "scaledobject",
                "ResourceAPIVersion": "v1alpha1",
                "KindSuffix": "-keda-v1alpha1",
            },
        ),
    ],
)
def test_template_variables_match_kubeconform(api_version, kind, expected):
    variables = locations.template_variables(api_version, kind, "1.30.0", strict=False)
    assert {k: variables[k] for k in expected} == expected
    assert variables["NormalizedKubernetesVersion"] == "v1.30.0"


def test_location_expansion():
    variables = locations.template_variables("keda.sh/v1alpha1", "ScaledObject", "1.33.0", strict=True)
    assert (
        locations.expand("/s/{{.Group}}/{{ .ResourceKind }}_{{.ResourceAPIVersion}}.json", variables)
        == "/s/keda.sh/scaledobject_v1alpha1.json"
    )
    assert (
        locations.expand("https://x/schemas", variables)
        == "https://x/schemas/v1.33.0-standalone-strict/scaledobject-keda-v1alpha1.json"
    )
    with pytest.raises(ValueError, match="unknown template variable"):
        locations.expand("/s/{{.Nope}}.json", variables)


def test_crd_schema_error_from_vendored_schemas(cli, empty_repo):
    (empty_repo / "so.yaml").write_text(SCALED_OBJECT)
    result = cli(["validate", "--format", "json", "--validator", "jsonschema", "so.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["kind"], f["name"], f["path"], f["line"]) for f in findings] == [
        ("schema", "ScaledObject", "so", "/spec/minReplicaCount", 6)
    ]
    assert "'one' is not of type 'integer'" in findings[0]["message"]


def test_crd_unknown_field_is_an_error(cli, empty_repo):
    (empty_repo / "so.yaml").write_text(SCALED_OBJECT.replace('minReplicaCount: "one"', "minReplicas: 1"))
    result = cli(["validate", "--format", "json", "so.yaml"], cwd=empty_repo)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["message"]) for f in findings] == [
        ("/spec/minReplicas", "unknown field 'minReplicas' (not in the ScaledObject schema)")
    ]


def test_missing_schema_is_an_error_unless_ignored(cli, empty_repo):
    (empty_repo / "lws.yaml").write_text(
        "apiVersion: leaderworkerset.x-k8s.io/v1\nkind: LeaderWorkerSet\nmetadata: {name: x}\n"
    )
    config = empty_repo / "llmfleet.yaml"
    text = config.read_text()
    # Local location only, so the test never reaches for the network.
    config.write_text(
        text[: text.index("schema-locations:")] + "schema-locations: []\n" + text[text.index("lint:") :]
    )
    result = cli(["validate", "--format", "json", "lws.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["rule"] == "schema-missing"
    assert "no schema for LeaderWorkerSet (leaderworkerset.x-k8s.io/v1)" in finding["message"]
    result = cli(["validate", "--ignore-missing-schemas", "lws.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.OK


def test_strict_builtin_schema_catches_unknown_container_field(cli, empty_repo):
    (empty_repo / "d.yaml").write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: "two"
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec:
      containers:
        - name: c
          image: busybox:1.36
          imagePullPolcy: Always
""")
    result = cli(["validate", "--format", "json", "d.yaml"], cwd=empty_repo)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["line"]) for f in findings] == [
        ("/spec/replicas", 5),
        ("/spec/template/spec/containers/0/imagePullPolcy", 13),
    ]


def test_kubernetes_version_must_be_full(cli, empty_repo):
    (empty_repo / "x.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    result = cli(["validate", "--kubernetes-version", "1.33", "x.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.USAGE
    assert "use a full x.y.z version such as 1.33.0" in result.stderr


def test_kubernetes_version_selects_schemas(cli, empty_repo):
    # ValidatingAdmissionPolicy reached admissionregistration.k8s.io/v1 in Kubernetes 1.30.
    (empty_repo / "vap.yaml").write_text(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
        "metadata: {name: x}\nspec: {validations: [{expression: 'true'}]}\n"
    )
    old = cli(["validate", "--kubernetes-version", "1.29.0", "--format", "json", "vap.yaml"], cwd=empty_repo)
    new = cli(["validate", "--kubernetes-version", "1.30.0", "vap.yaml"], cwd=empty_repo)
    assert [f["rule"] for f in json.loads(old.stdout)["findings"]] == ["schema-missing"]
    assert new.exit_code == exitcodes.OK, new.stdout


# -- objects known valid from an earlier run (llmfleet.pipeline.validate.valid_cache) -----------------

VALID_SCALED_OBJECT = SCALED_OBJECT.replace('minReplicaCount: "one"', "minReplicaCount: 1")


def _crd_schema_copy(empty_repo, schemas_dir):
    """A local schema location with its own copy of the ScaledObject schema, listed first."""
    [original] = schemas_dir.rglob("scaledobject_v1alpha1.json")
    local = empty_repo / "local-schemas" / "keda.sh"
    local.mkdir(parents=True)
    copy = local / "scaledobject_v1alpha1.json"
    copy.write_text(original.read_text())
    location = str(
        empty_repo / "local-schemas" / "{{.Group}}" / "{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"
    )
    return copy, location


def test_known_valid_objects_are_remembered_and_forgotten_when_the_schema_changes(
    cli, empty_repo, schemas_dir, tmp_path, monkeypatch
):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(cache))
    schema, location = _crd_schema_copy(empty_repo, schemas_dir)
    (empty_repo / "so.yaml").write_text(VALID_SCALED_OBJECT)
    args = [
        "validate",
        "--format",
        "json",
        "--validator",
        "jsonschema",
        "--schema-location",
        location,
        "so.yaml",
    ]
    assert cli(args, cwd=empty_repo).exit_code == exitcodes.OK
    remembered = (cache / "validate" / "valid-objects").read_text().split()
    assert len(remembered) == 1
    assert cli(args, cwd=empty_repo).exit_code == exitcodes.OK
    # The schema now wants minReplicaCount as a string: the object is validated again (a
    # new fingerprint), not passed on the strength of the earlier run.
    data = json.loads(schema.read_text())
    data["properties"]["spec"]["properties"]["minReplicaCount"] = {"type": "string"}
    schema.write_text(json.dumps(data))
    schemas.shared_store.cache_clear()  # what a new process starts with
    result = cli(args, cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    [finding] = json.loads(result.stdout)["findings"]
    assert finding["path"] == "/spec/minReplicaCount"


def test_invalid_objects_are_never_remembered(cli, empty_repo, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(cache))
    (empty_repo / "so.yaml").write_text(SCALED_OBJECT)
    for _ in range(2):
        result = cli(["validate", "--format", "json", "--validator", "jsonschema", "so.yaml"], cwd=empty_repo)
        assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["/spec/minReplicaCount"]
    assert not (cache / "validate" / "valid-objects").exists()


def test_no_cache_neither_reads_nor_writes_known_valid_objects(cli, empty_repo, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(cache))
    (empty_repo / "so.yaml").write_text(VALID_SCALED_OBJECT)
    result = cli(["validate", "--no-cache", "--validator", "jsonschema", "so.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.OK
    assert not (cache / "validate").exists()


def test_a_damaged_known_valid_file_only_costs_a_validation(cli, empty_repo, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    (cache / "validate").mkdir(parents=True)
    (cache / "validate" / "valid-objects").write_bytes(b"\xff\xfe not keys \x00")
    monkeypatch.setenv("LLMFLEET_CACHE_DIR", str(cache))
    (empty_repo / "so.yaml").write_text(SCALED_OBJECT)
    result = cli(["validate", "--format", "json", "--validator", "jsonschema", "so.yaml"], cwd=empty_repo)
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == ["/spec/minReplicaCount"]
