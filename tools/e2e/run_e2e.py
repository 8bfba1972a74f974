"""`make e2e`: apply the whole repository, for real, to a local kube-apiserver.

1. build (or reuse) etcd, kube-apiserver and kube-controller-manager (cluster.py);
2. install the upstream CRDs vendored in tools/e2e/crds/ and wait until they are served;
3. create the namespaces the repository expects to exist already (those its objects name
   but do not define: `monitoring`, `argocd`);
4. render platform/, every overlay and argocd/ with kustomize, and apply each with
   `kubectl apply --server-side`: any rejection, and any warning (deprecated field, Pod
   Security `warn` level, ...), fails the run;
5. wait until the controllers have created every Deployment's and Job's pods, and fail on a
   pod they could not create (event FailedCreate: Pod Security at the namespace's level,
   the ResourceQuota, ...);
6. re-apply a changed smoke-test Job with client-side `kubectl apply` (what a kubectl user
   does after a change) and check that it is accepted under a new name, while the same
   change under the old name is refused as immutable.

Exit 0 when all of that holds, 1 on a finding, 2 when the control plane cannot be built or
started. ``--keep DIR`` leaves the control plane's logs in DIR.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import REPO, ClusterError, LocalCluster, binaries

CRDS = REPO / "tools" / "e2e" / "crds"
FIELD_MANAGER = "llmfleet-e2e"
SETTLE_TIMEOUT_S = 120.0
SMOKE_TEST_LABEL = "app.kubernetes.io/component=smoke-test"


class Finding(Exception):
    """What the server or the controllers refused."""


def targets() -> list[Path]:
    overlays = sorted(p.parent for p in (REPO / "overlays").glob("*/kustomization.yaml"))
    return [REPO / "platform", *overlays, REPO / "argocd"]


def kustomize_command() -> list[str]:
    standalone = REPO / ".venv" / "bin" / "kustomize"
    if standalone.exists():
        return [str(standalone), "build"]
    return [str(REPO / ".venv" / "bin" / "kubectl"), "kustomize"]


def render(target: Path) -> str:
    proc = subprocess.run(
        [*kustomize_command(), str(target)], capture_output=True, text=True, check=False, timeout=300
    )
    if proc.returncode != 0:
        raise Finding(f"kustomize build {target.relative_to(REPO)} failed: {proc.stderr.strip()}")
    return proc.stdout


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("Warning:")]


def apply(api: LocalCluster, what: str, text: str, *extra: str) -> str:
    proc = api.kubectl("apply", *extra, "-f", "-", input=text)
    if proc.returncode != 0:
        raise Finding(f"{what}: rejected:\n{proc.stderr.strip()}")
    if warnings_in(proc.stderr):
        raise Finding(f"{what}: accepted with warnings:\n" + "\n".join(warnings_in(proc.stderr)))
    return proc.stdout


def install_crds(api: LocalCluster) -> None:
    for crd in sorted(p for p in CRDS.glob("*.yaml") if p.name != "sources.yaml"):
        apply(api, f"CRD {crd.name}", crd.read_text(), "--server-side", f"--field-manager={FIELD_MANAGER}")
    proc = api.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
    if proc.returncode != 0:
        raise ClusterError(f"CRDs not established: {proc.stderr.strip()}")


def ensure_namespaces(api: LocalCluster, rendered: dict[Path, list[dict]]) -> list[str]:
    defined = {
        d["metadata"]["name"] for docs in rendered.values() for d in docs if d.get("kind") == "Namespace"
    }
    named = {
        d["metadata"]["namespace"]
        for docs in rendered.values()
        for d in docs
        if d["metadata"].get("namespace")
    }
    missing = sorted(named - defined)
    for namespace in missing:
        api.kubectl("create", "namespace", namespace, check=True)
    return missing


def pod_owners(rendered: dict[Path, list[dict]]) -> list[dict]:
    return [d for docs in rendered.values() for d in docs if d.get("kind") in ("Deployment", "Job")]


def failed_creates(api: LocalCluster, namespaces: set[str]) -> list[str]:
    """The controllers' FailedCreate events in ``namespaces``, one line per owner."""
    proc = api.kubectl(
        "get", "events", "-A", "--field-selector=reason=FailedCreate", "-o", "json", check=True
    )
    found: dict[str, str] = {}
    for event in json.loads(proc.stdout)["items"]:
        namespace, involved = event["metadata"]["namespace"], event["involvedObject"]
        if namespace in namespaces:
            found.setdefault(f"{involved['kind']} {namespace}/{involved['name']}", event["message"])
    return [f"{owner}: {message}" for owner, message in sorted(found.items())]


def settle(api: LocalCluster, owners: list[dict]) -> None:
    """Every Deployment has its pods and every Job its active pod, or a FailedCreate says why not."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    waiting: list[str] = []
    while time.monotonic() < deadline:
        failures = failed_creates(api, {owner["metadata"]["namespace"] for owner in owners})
        if failures:
            raise Finding("the controllers could not create pods:\n" + "\n".join(failures))
        waiting = []
        for owner in owners:
            kind, meta = owner["kind"], owner["metadata"]
            proc = api.kubectl(
                "get", kind.lower(), "-n", meta["namespace"], meta["name"], "-o", "json", check=True
            )
            live = json.loads(proc.stdout)
            status = live.get("status") or {}
            if kind == "Deployment":
                wanted = live["spec"].get("replicas", 1)
                if status.get("replicas", 0) < wanted:
                    waiting.append(f"Deployment {meta['name']}: {status.get('replicas', 0)}/{wanted} pods")
            elif not status.get("active") and not status.get("succeeded") and not status.get("failed"):
                waiting.append(f"Job {meta['name']}: no pod yet")
        if not waiting:
            return
        time.sleep(1)
    raise Finding(f"pods not created within {SETTLE_TIMEOUT_S:g} s:\n" + "\n".join(waiting))


def variant(overlay: Path, namespace: str, patches: list[dict]) -> str:
    """The overlay rendered into another namespace, with ``patches`` (kustomize, so that the
    Job's name hash is computed from the changed content)."""
    with tempfile.TemporaryDirectory(prefix="llmfleet-e2e-variant-") as tmp:
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": namespace,
            "resources": [os.path.relpath(overlay, tmp)],
            "patches": patches,
        }
        Path(tmp, "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        return render(Path(tmp))


def smoke_test_job(docs: list[dict]) -> dict:
    return next(
        d
        for d in docs
        if d["kind"] == "Job" and d["metadata"]["labels"].get("app.kubernetes.io/component") == "smoke-test"
    )


def smoke_test_reapply(api: LocalCluster, overlay: Path) -> str:
    """What a kubectl user does: `kubectl apply` (client-side) of the overlay, a change to the
    smoke-test Job, `kubectl apply` again. It must go in (the Job's name follows its content);
    the same change under the old name must be refused as immutable, or this proves nothing.
    In a namespace of its own, so that only kubectl's client-side apply has touched it."""
    namespace = "e2e-reapply"
    api.kubectl("create", "namespace", namespace, check=True)
    original_text = variant(overlay, namespace, [])
    job = smoke_test_job(documents(original_text))
    # The change a user might make: a longer wait for the model (env WAIT_SECONDS).
    env = job["spec"]["template"]["spec"]["containers"][0]["env"]
    index = next(i for i, var in enumerate(env) if var["name"] == "WAIT_SECONDS")
    change = [
        {"op": "replace", "path": f"/spec/template/spec/containers/0/env/{index}/value", "value": "601"}
    ]
    patch = {"target": {"kind": "Job", "labelSelector": SMOKE_TEST_LABEL}, "patch": json.dumps(change)}
    changed_text = variant(overlay, namespace, [patch])
    changed = smoke_test_job(documents(changed_text))
    if changed["metadata"]["name"] == job["metadata"]["name"]:
        raise Finding(f"smoke-test Job {job['metadata']['name']}: its name does not change with its content")
    apply(api, f"{overlay.name} (kubectl apply)", original_text)
    apply(api, f"{overlay.name} with a changed smoke-test Job (kubectl apply again)", changed_text)
    same_name = copy.deepcopy(changed)
    same_name["metadata"]["name"] = job["metadata"]["name"]
    proc = api.kubectl("apply", "-f", "-", input=json.dumps(same_name))
    if proc.returncode == 0 or "field is immutable" not in proc.stderr:
        raise Finding(
            "control: a changed Job under its old name should be refused as immutable, got "
            f"exit {proc.returncode}: {proc.stderr.strip()}"
        )
    return f"{job['metadata']['name']} -> {changed['metadata']['name']}"


def run(keep: Path | None) -> int:
    started = time.monotonic()
    bins = binaries()
    built = time.monotonic()
    # Applied as kustomize printed it: a YAML re-dump could change how a scalar reads.
    texts = {target: render(target) for target in targets()}
    rendered = {target: documents(text) for target, text in texts.items()}
    with LocalCluster(bins, workdir=keep) as api:
        up = time.monotonic()
        try:
            install_crds(api)
            created = ensure_namespaces(api, rendered)
            print(
                f"e2e: control plane up in {up - built:.1f} s; CRDs installed; namespaces created: {', '.join(created) or 'none'}"
            )
            for target, docs in rendered.items():
                apply(
                    api,
                    str(target.relative_to(REPO)),
                    texts[target],
                    "--server-side",
                    f"--field-manager={FIELD_MANAGER}",
                )
                print(
                    f"e2e: applied {target.relative_to(REPO)} ({len(docs)} objects, server-side, no warning)"
                )
            settle(api, pod_owners(rendered))
            print(
                f"e2e: the controllers created the pods of {len(pod_owners(rendered))} Deployments and Jobs"
            )
            overlay = next(
                t for t in rendered if any(d["kind"] == "Job" for d in rendered[t]) and "overlays" in t.parts
            )
            print(
                f"e2e: changed smoke-test Job re-applied with kubectl apply: {smoke_test_reapply(api, overlay)}"
            )
        except Finding as finding:
            print(f"e2e: FAILED: {finding}", file=sys.stderr)
            return 1
    print(
        f"e2e: passed in {time.monotonic() - started:.1f} s (build or cache lookup {built - started:.1f} s)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--keep", type=Path, help="run the control plane in this folder and leave its logs there"
    )
    args = parser.parse_args(argv)
    try:
        return run(args.keep.resolve() if args.keep else None)
    except ClusterError as err:
        print(f"e2e: cannot start the control plane: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
