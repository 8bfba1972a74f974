"""schemas/: every vendored file matches the sha256 recorded for it, every CRD schema has a
recorded source, and the refresh script (make schemas) rebuilds the files from their
pinned sources, converting CRD manifests the way datreeio/CRDs-catalog does."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys

import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, SCHEMAS

SCRIPT = REPO_ROOT / "tools" / "scripts" / "refresh_schemas.py"


def load_script():
    spec = importlib.util.spec_from_file_location("refresh_schemas", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("refresh_schemas", module)
    spec.loader.exec_module(module)
    return module


def recorded_sums() -> dict[str, str]:
    sums = {}
    for line in (SCHEMAS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(None, 1)
        sums[name] = digest
    return sums


def manifest_paths() -> list[str]:
    return [f["path"] for f in yaml.safe_load((SCHEMAS / "sources.yaml").read_text())["files"]]


@pytest.mark.parametrize("path", manifest_paths())
def test_vendored_file_matches_its_recorded_sha256(path):
    sums = recorded_sums()
    assert path in sums, f"{path} has no line in schemas/SHA256SUMS"
    assert hashlib.sha256((SCHEMAS / path).read_bytes()).hexdigest() == sums[path], (
        f"schemas/{path} differs from its recorded sha256: run `make schemas` to restore it"
    )


def test_every_crd_schema_has_a_source_and_the_layout_kubeconform_reads():
    listed = set(manifest_paths())
    for path in (SCHEMAS / "crds").rglob("*.json"):
        rel = path.relative_to(SCHEMAS).as_posix()
        assert rel in listed, f"{rel} is not in schemas/sources.yaml"
        group, name = path.parent.name, path.name
        kind, _, version = name[: -len(".json")].rpartition("_")
        assert "." in group and kind == kind.lower() and version.startswith("v"), rel
        json.loads(path.read_text())


def test_the_repository_objects_and_common_neighbours_are_covered():
    names = {p.relative_to(SCHEMAS / "crds").as_posix() for p in (SCHEMAS / "crds").rglob("*.json")}
    assert {
        "keda.sh/scaledobject_v1alpha1.json",
        "keda.sh/scaledjob_v1alpha1.json",
        "keda.sh/triggerauthentication_v1alpha1.json",
        "keda.sh/clustertriggerauthentication_v1alpha1.json",
        "monitoring.coreos.com/podmonitor_v1.json",
        "monitoring.coreos.com/servicemonitor_v1.json",
        "monitoring.coreos.com/prometheusrule_v1.json",
        "monitoring.coreos.com/alertmanagerconfig_v1alpha1.json",
        "argoproj.io/application_v1alpha1.json",
        "argoproj.io/applicationset_v1alpha1.json",
        "argoproj.io/appproject_v1alpha1.json",
        "argoproj.io/rollout_v1alpha1.json",
        "gateway.networking.k8s.io/httproute_v1.json",
        "leaderworkerset.x-k8s.io/leaderworkerset_v1.json",
        "serving.kserve.io/inferenceservice_v1beta1.json",
        "ray.io/rayservice_v1.json",
        "ray.io/raycluster_v1.json",
        "serving.knative.dev/service_v1.json",
    } <= names


def test_verify_passes_here_and_catches_a_tampered_copy(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--verify"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    target = copy / "crds" / "keda.sh" / "scaledobject_v1alpha1.json"
    target.write_text(target.read_text().replace('"minReplicaCount"', '"minReplicas"'))
    (copy / "crds" / "example.com").mkdir()
    (copy / "crds" / "example.com" / "widget_v1.json").write_text("{}")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--verify", "--schemas-dir", str(copy)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "crds/keda.sh/scaledobject_v1alpha1.json: sha256 differs" in proc.stdout
    assert "crds/example.com/widget_v1.json: not listed in sources.yaml" in proc.stdout


CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {format: int-or-string}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true, properties: {a: {type: string}}}
                labels: {type: object, additionalProperties: {type: string}}
"""


def test_refresh_from_a_mirror_converts_crds_and_records_sums(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "org" / "widgets" / "abc123" / "config").mkdir(parents=True)
    (mirror / "org" / "widgets" / "abc123" / "config" / "crd.yaml").write_text(CRD)
    (mirror / "org" / "catalog" / "def456" / "example.com").mkdir(parents=True)
    (mirror / "org" / "catalog" / "def456" / "example.com" / "gadget_v1.json").write_text(
        '{"type": "object"}'
    )
    folder = tmp_path / "schemas"
    folder.mkdir()
    (folder / "sources.yaml").write_text(
        yaml.safe_dump(
            {
                "base-url": "https://unused.example.com",
                "sources": {
                    "w": {"repository": "org/widgets", "commit": "abc123"},
                    "c": {"repository": "org/catalog", "commit": "def456"},
                },
                "files": [
                    {
                        "path": "crds/example.com/widget_v1.json",
                        "source": "w",
                        "upstream": "config/crd.yaml",
                        "crd": {"kind": "Widget", "version": "v1"},
                    },
                    {
                        "path": "crds/example.com/gadget_v1.json",
                        "source": "c",
                        "upstream": "example.com/gadget_v1.json",
                    },
                ],
            }
        )
    )
    argv = [sys.executable, str(SCRIPT), "--schemas-dir", str(folder), "--base-url", mirror.as_uri()]
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads((folder / "crds" / "example.com" / "widget_v1.json").read_text())
    spec = schema["properties"]["spec"]
    assert "additionalProperties" not in schema  # the root stays open
    assert spec["additionalProperties"] is False
    assert spec["properties"]["size"] == {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    assert "additionalProperties" not in spec["properties"]["extra"]  # preserves unknown fields
    assert spec["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    subprocess.run(
        [sys.executable, str(SCRIPT), "--verify", "--schemas-dir", str(folder)],
        check=True,
        capture_output=True,
    )


def test_refresh_without_network_changes_nothing(tmp_path):
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, folder)
    before = (folder / "SHA256SUMS").read_text()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--schemas-dir", str(folder), "--base-url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 3
    assert "refresh_schemas: error: http://127.0.0.1:9/" in proc.stderr and "Traceback" not in proc.stderr
    assert (folder / "SHA256SUMS").read_text() == before
    assert (
        subprocess.run(
            [sys.executable, str(SCRIPT), "--verify", "--schemas-dir", str(folder)], capture_output=True
        ).returncode
        == 0
    )


def test_conversion_is_a_fixed_point_on_a_vendored_converted_schema():
    """Converting an already strict schema again gives the same bytes: the vendored file is
    exactly what the converter writes (indentation, key order, no final newline)."""
    module = load_script()
    strict = json.loads(
        (SCHEMAS / "crds" / "leaderworkerset.x-k8s.io" / "leaderworkerset_v1.json").read_text()
    )
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "spec": {
            "names": {"kind": "LeaderWorkerSet"},
            "versions": [{"name": "v1", "schema": {"openAPIV3Schema": strict}}],
        },
    }
    again = module.crd_to_schema(json.dumps(crd), "LeaderWorkerSet", "v1")  # JSON is YAML, in order
    assert again == (SCHEMAS / "crds" / "leaderworkerset.x-k8s.io" / "leaderworkerset_v1.json").read_bytes()
