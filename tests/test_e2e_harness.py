"""The real-tools harness: pinned Go modules, vendored upstream CRDs, the standalone
`kustomize build` against `kubectl kustomize`, the smoke-test Job's content-hash name, and
the local API server's dry run (tools/e2e/cluster.py; `make e2e` runs the whole apply)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from llmfleet_testlib import REPO_ROOT, overlay_names, require

E2E = REPO_ROOT / "tools" / "e2e"
sys.path.insert(0, str(E2E))

import cluster  # noqa: E402
import run_e2e  # noqa: E402

KUSTOMIZE = REPO_ROOT / ".venv" / "bin" / "kustomize"
KUBECTL = REPO_ROOT / ".venv" / "bin" / "kubectl"
TARGETS = ["platform", *[f"overlays/{name}" for name in overlay_names()], "argocd"]


def test_vendored_crds_match_their_checksums_and_sources():
    sums = dict(
        reversed(line.split(maxsplit=1)) for line in (E2E / "crds" / "SHA256SUMS").read_text().splitlines()
    )
    sources = yaml.safe_load((E2E / "crds" / "sources.yaml").read_text())["crds"]
    on_disk = sorted(p.name for p in (E2E / "crds").glob("*.yaml") if p.name != "sources.yaml")
    assert sorted(sums) == on_disk == sorted(entry["file"] for entry in sources)
    for name, digest in sums.items():
        assert hashlib.sha256((E2E / "crds" / name).read_bytes()).hexdigest() == digest, name
    for entry in sources:
        assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"]), entry
        crd = yaml.safe_load((E2E / "crds" / entry["file"]).read_text())
        assert crd["kind"] == "CustomResourceDefinition" and crd["apiVersion"] == "apiextensions.k8s.io/v1"


def test_every_rendered_custom_kind_has_a_vendored_crd():
    served = set()
    for path in (E2E / "crds").glob("*.yaml"):
        if path.name == "sources.yaml":
            continue
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            served.add((f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"]))
    rendered = set()
    for target in TARGETS:
        text = subprocess.run(
            [str(KUBECTL), "kustomize", str(REPO_ROOT / target)], capture_output=True, text=True, check=True
        ).stdout
        for doc in yaml.safe_load_all(text):
            group = doc["apiVersion"].rpartition("/")[0] if doc else ""
            # Built-in groups: core (""), dotless ones (apps, batch, policy) and *.k8s.io.
            if "." in group and not group.endswith(".k8s.io"):
                rendered.add((doc["apiVersion"], doc["kind"]))
    assert rendered and rendered <= served, rendered - served


def test_the_kubernetes_module_pins_one_release_for_every_staging_module():
    gomod = (E2E / "kube" / "go.mod").read_text()
    release = re.search(r"\sk8s.io/kubernetes (v1\.(\d+)\.(\d+))", gomod)
    assert release and release.group(1) == cluster.KUBERNETES_VERSION
    staging = f"v0.{release.group(2)}.{release.group(3)}"
    replaces = re.findall(r"^\s+(k8s.io/\S+) => (k8s.io/\S+) (\S+)$", gomod, re.M)
    assert len(replaces) > 25
    assert all(old == new and version == staging for old, new, version in replaces)
    for module in ("kube", "../gotools/kustomize", "../gotools/kubeconform"):
        assert (E2E / module / "go.sum").stat().st_size > 0


def test_build_script_refuses_a_call_without_packages(tmp_path):
    proc = subprocess.run(
        [
            str(REPO_ROOT / "tools" / "gotools" / "build.sh"),
            str(REPO_ROOT / "tools" / "gotools" / "kustomize"),
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/local/go/bin:/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert proc.returncode == 2
    assert "name at least one package" in proc.stderr or "go is not installed" in proc.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_kustomize_build_matches_kubectl_kustomize(target):
    """The README promises `kustomize build`; llmfleet renders with kubectl's built-in copy."""
    require(KUSTOMIZE.exists(), "kustomize is not built: `make tools` builds the pinned one")
    standalone = subprocess.run(
        [str(KUSTOMIZE), "build", str(REPO_ROOT / target)], capture_output=True, text=True, check=False
    )
    assert standalone.returncode == 0, standalone.stderr
    builtin = subprocess.run(
        [str(KUBECTL), "kustomize", str(REPO_ROOT / target)], capture_output=True, text=True, check=True
    )
    assert standalone.stdout == builtin.stdout
    assert len(list(yaml.safe_load_all(standalone.stdout))) > 1


def test_smoke_test_job_name_follows_its_content():
    overlay = REPO_ROOT / "overlays" / overlay_names()[0]
    first = run_e2e.smoke_test_job(run_e2e.documents(run_e2e.variant(overlay, "a", [])))
    again = run_e2e.smoke_test_job(run_e2e.documents(run_e2e.variant(overlay, "a", [])))
    change = [{"op": "replace", "path": "/spec/backoffLimit", "value": 1}]
    patch = {
        "target": {"kind": "Job", "labelSelector": run_e2e.SMOKE_TEST_LABEL},
        "patch": json.dumps(change),
    }
    changed = run_e2e.smoke_test_job(run_e2e.documents(run_e2e.variant(overlay, "a", [patch])))
    assert first["metadata"]["name"] == again["metadata"]["name"]
    assert re.fullmatch(rf"{overlay.name}-smoke-test-[a-z0-9]{{10}}", first["metadata"]["name"])
    assert changed["metadata"]["name"] != first["metadata"]["name"]
    annotations = first["metadata"]["annotations"]
    # Argo CD's hook is untouched; kustomize's build annotation never reaches the output.
    assert annotations["argocd.argoproj.io/hook"] == "PostSync"
    assert "BeforeHookCreation" in annotations["argocd.argoproj.io/hook-delete-policy"]
    assert not [key for key in annotations if key.startswith("internal.config.kubernetes.io/")]


@pytest.fixture(scope="module")
def api():
    require(
        shutil.which("go") is not None and shutil.which("openssl") is not None, "go and openssl are needed"
    )
    with cluster.LocalCluster(cluster.binaries(), controllers=False) as server:
        yield server


def test_dry_run_on_the_real_api_server(api):
    good = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "ok"}}}
    assert api.dry_run(good).accepted
    bad = {**good, "metadata": {"name": "c", "labels": {"a": "-not-a-label-value-"}}}
    verdict = api.dry_run(bad)
    assert not verdict.accepted and verdict.code == 422 and verdict.reason == "Invalid"
    assert "metadata.labels" in verdict.message
    # dryRun=All stored nothing.
    assert api.request("GET", "/api/v1/namespaces/default/configmaps/c")[0] == 404


def test_dry_run_reports_warnings(api):
    template = {
        "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "nodeSelector": {"beta.kubernetes.io/os": "linux"},
        }
    }
    workload = deployment("warned", "default", {})
    workload["spec"]["template"]["spec"] = template["spec"]
    verdict = api.dry_run(workload)
    assert verdict.accepted, verdict.message
    assert any("beta.kubernetes.io/os" in warning for warning in verdict.warnings), verdict.warnings


@pytest.fixture(scope="module")
def live():
    """With kube-controller-manager: pods are created (or refused) as in a cluster."""
    require(
        shutil.which("go") is not None and shutil.which("openssl") is not None, "go and openssl are needed"
    )
    with cluster.LocalCluster(cluster.binaries()) as server:
        yield server


def restricted_namespace(api, name: str) -> None:
    api.kubectl("create", "namespace", name, check=True)
    api.kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted", check=True)


def deployment(name: str, namespace: str, security: dict) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox", **security}]},
            },
        },
    }


def test_settle_fails_on_a_pod_the_namespace_forbids(live):
    restricted_namespace(live, "forbidding")
    privileged = deployment("privileged", "forbidding", {"securityContext": {"privileged": True}})
    # Pod Security warns about a workload whose pods the namespace's level forbids ...
    with pytest.raises(
        run_e2e.Finding, match='accepted with warnings:[\\s\\S]*would violate PodSecurity "restricted'
    ):
        run_e2e.apply(live, "privileged", json.dumps(privileged))
    # ... and its ReplicaSet cannot create the pod: that is what settle() must catch.
    with pytest.raises(
        run_e2e.Finding,
        match=r"could not create pods:\nReplicaSet forbidding/privileged-[\s\S]*violates PodSecurity",
    ):
        run_e2e.settle(live, [privileged])


def test_settle_passes_when_the_pods_are_created(live):
    restricted_namespace(live, "allowing")
    secure = {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
    }
    compliant = deployment("compliant", "allowing", secure)
    run_e2e.apply(live, "compliant", json.dumps(compliant))
    run_e2e.settle(live, [compliant])  # raises on a FailedCreate event anywhere, or a timeout


def test_apply_fails_on_a_warning_and_on_a_rejection(live):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "warned", "namespace": "default"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "nodeSelector": {"beta.kubernetes.io/os": "linux"},
        },
    }
    with pytest.raises(run_e2e.Finding, match="accepted with warnings:[\\s\\S]*beta.kubernetes.io/os"):
        run_e2e.apply(live, "warned", json.dumps(pod))
    bad = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "Not_A_Name", "namespace": "default"},
    }
    with pytest.raises(run_e2e.Finding, match="rejected:[\\s\\S]*Not_A_Name"):
        run_e2e.apply(live, "bad", json.dumps(bad))
