"""Schema validation: built-in kinds strictly from kubernetes-validate's schemas, CRDs from
schema locations in kubeconform's template syntax."""

from __future__ import annotations

import json

import pytest

from llmfleet import exitcodes
from llmfleet.validate import locations

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


@pytest.mark.parametrize("api_version,kind,expected", [
    # The table in docs/reference/tooling.md §1.2.
    ("apps/v1", "Deployment", {"Group": "apps", "ResourceKind": "deployment", "ResourceAPIVersion": "v1",
                               "KindSuffix": "-apps-v1"}),
    ("v1", "Service", {"Group": "v1", "ResourceKind": "service", "ResourceAPIVersion": "v1",
                       "KindSuffix": "-v1"}),
    ("keda.sh/v1alpha1", "ScaledObject", {"Group": "keda.sh", "ResourceKind": "scaledobject",
                                          "ResourceAPIVersion": "v1alpha1", "KindSuffix": "-keda-v1alpha1"}),
])
def test_template_variables_match_kubeconform(api_version, kind, expected):
    variables = locations.template_variables(api_version, kind, "1.30.0", strict=False)
    assert {k: variables[k] for k in expected} == expected
    assert variables["NormalizedKubernetesVersion"] == "v1.30.0"


def test_location_expansion():
    variables = locations.template_variables("keda.sh/v1alpha1", "ScaledObject", "1.33.0", strict=True)
    assert locations.expand("/s/{{.Group}}/{{ .ResourceKind }}_{{.ResourceAPIVersion}}.json", variables) \
        == "/s/keda.sh/scaledobject_v1alpha1.json"
    assert locations.expand("https://x/schemas", variables) \
        == "https://x/schemas/v1.33.0-standalone-strict/scaledobject-keda-v1alpha1.json"
    with pytest.raises(ValueError, match="unknown template variable"):
        locations.expand("/s/{{.Nope}}.json", variables)


def test_crd_schema_error_from_vendored_schemas(cli, empty_repo):
    (empty_repo / "so.yaml").write_text(SCALED_OBJECT)
    result = cli(["validate", "--format", "json", "--validator", "jsonschema", "so.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.FINDINGS
    findings = json.loads(result.stdout)["findings"]
    assert [(f["rule"], f["kind"], f["name"], f["path"], f["line"]) for f in findings] == [
        ("schema", "ScaledObject", "so", "/spec/minReplicaCount", 6)]
    assert "'one' is not of type 'integer'" in findings[0]["message"]


def test_crd_unknown_field_is_an_error(cli, empty_repo):
    (empty_repo / "so.yaml").write_text(SCALED_OBJECT.replace('minReplicaCount: "one"', "minReplicas: 1"))
    result = cli(["validate", "--format", "json", "so.yaml"], cwd=empty_repo)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["message"]) for f in findings] == [
        ("/spec/minReplicas", "unknown field 'minReplicas' (not in the ScaledObject schema)")]


def test_missing_schema_is_an_error_unless_ignored(cli, empty_repo):
    (empty_repo / "lws.yaml").write_text(
        "apiVersion: leaderworkerset.x-k8s.io/v1\nkind: LeaderWorkerSet\nmetadata: {name: x}\n")
    config = empty_repo / "llmfleet.yaml"
    text = config.read_text()
    # Local location only, so the test never reaches for the network.
    config.write_text(text[: text.index("schema-locations:")] + "schema-locations: []\n"
                      + text[text.index("lint:"):])
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
        ("/spec/replicas", 5), ("/spec/template/spec/containers/0/imagePullPolcy", 13)]


def test_kubernetes_version_must_be_full(cli, empty_repo):
    (empty_repo / "x.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    result = cli(["validate", "--kubernetes-version", "1.33", "x.yaml"], cwd=empty_repo)
    assert result.exit_code == exitcodes.USAGE
    assert "use a full x.y.z version such as 1.33.0" in result.stderr


def test_kubernetes_version_selects_schemas(cli, empty_repo):
    # ValidatingAdmissionPolicy reached admissionregistration.k8s.io/v1 in Kubernetes 1.30.
    (empty_repo / "vap.yaml").write_text(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\n"
        "metadata: {name: x}\nspec: {validations: [{expression: 'true'}]}\n")
    old = cli(["validate", "--kubernetes-version", "1.29.0", "--format", "json", "vap.yaml"], cwd=empty_repo)
    new = cli(["validate", "--kubernetes-version", "1.30.0", "vap.yaml"], cwd=empty_repo)
    assert [f["rule"] for f in json.loads(old.stdout)["findings"]] == ["schema-missing"]
    assert new.exit_code == exitcodes.OK, new.stdout
