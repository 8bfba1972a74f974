#!/usr/bin/env python3
"""Replay the mutants of ``api_mutants.py`` against a real kube-apiserver and compare its
verdicts with llmfleet's.

Starts the local control plane of ``tools/e2e/cluster.py`` (etcd and kube-apiserver v1.36.3 on
loopback; no controllers are needed), installs the upstream CRDs of ``tools/e2e/crds``, creates
the repository's namespaces (its Namespace objects, so their Pod Security labels hold), then
server-side applies every mutant with ``dryRun=All``. The server's verdict is "reject" when it
refuses the object, or when Pod Security warns that the pods it describes are forbidden (the
pods would not be created); for a LeaderWorkerSet, whose templates the admission plugin does
not see, each template is also dry-run as a Pod in the same namespace. The verdicts are written
to ``server-verdicts.json`` in the mutant folder (a record to replay llmfleet against later).

    .venv/bin/python tools/scripts/api_mutants.py --out /tmp/mutants
    .venv/bin/python tools/scripts/api_differential.py --mutants /tmp/mutants [--bins bins.json]

``--bins`` names already built binaries ({"etcd": ..., "kube-apiserver": ...}) instead of
building them. Exit codes: 0 done, 1 llmfleet rejects a mutant the server accepts or agrees on
less than ``--min-agreement``, 2 bad arguments or no control plane.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_mutants  # noqa: E402

from llmfleet.pipeline.config import load_config  # noqa: E402

POD_SECURITY_WARNING = "violate PodSecurity"


def _cluster_module(path: Path):
    sys.path.insert(0, str(path.parent))
    import cluster  # the e2e harness (tools/e2e/cluster.py)

    return cluster


def _pods_of_lws(obj: dict) -> list[dict]:
    meta = obj.get("metadata") or {}
    lwt = (obj.get("spec") or {}).get("leaderWorkerTemplate") or {}
    pods = []
    for role in ("leaderTemplate", "workerTemplate"):
        template = lwt.get(role)
        if isinstance(template, dict):
            pods.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        **(template.get("metadata") or {}),
                        "name": f"lws-{role.lower()}",
                        "namespace": meta.get("namespace", "default"),
                    },
                    "spec": template.get("spec") or {},
                }
            )
    return pods


def server_verdict(api, obj: dict) -> tuple[str, str]:
    verdict = api.dry_run(obj)
    if not verdict.accepted:
        return "reject", verdict.message[:300]
    forbidden = [w for w in verdict.warnings if POD_SECURITY_WARNING in w]
    if forbidden:
        return "reject", forbidden[0][:300]
    if obj.get("kind") == "LeaderWorkerSet":
        for pod in _pods_of_lws(obj):
            pod_verdict = api.dry_run(pod)
            if not pod_verdict.accepted:
                return "reject", "its pods: " + pod_verdict.message[:280]
    return "accept", ""


def prepare(api, cluster, objects: list[dict], crds: Path) -> None:
    for crd in sorted(crds.glob("*.yaml")):
        if "kind: CustomResourceDefinition" not in crd.read_text(encoding="utf-8"):
            continue
        api.kubectl("apply", "--server-side", "-f", str(crd), check=True)
    api.kubectl("wait", "--for=condition=Established", "--timeout=120s", "crd", "--all", check=True)
    defined = [o for o in objects if o.get("kind") == "Namespace"]
    for namespace in defined:
        verdict = api.apply(namespace)
        if not verdict.accepted:
            raise cluster.ClusterError(f"namespace {namespace['metadata']['name']}: {verdict.message}")
    names = {o["metadata"]["name"] for o in defined}
    wanted = {(o.get("metadata") or {}).get("namespace") for o in objects} - {None}
    for namespace in sorted(wanted - names):
        api.kubectl("create", "namespace", namespace, check=True)
    # No controller runs: the "default" service account the pods of a LeaderWorkerSet use is
    # created by hand.
    for namespace in sorted(wanted):
        account = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": namespace},
        }
        api.apply(account)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mutants", type=Path, required=True, help="a folder written by api_mutants.py --out"
    )
    parser.add_argument("--cluster-module", type=Path, default=REPO / "tools" / "e2e" / "cluster.py")
    parser.add_argument(
        "--crds", type=Path, default=REPO / "tools" / "e2e" / "crds", help="CRD manifests to install"
    )
    parser.add_argument("--bins", type=Path, help="JSON naming built etcd and kube-apiserver binaries")
    parser.add_argument("--min-agreement", type=float, default=0.98)
    args = parser.parse_args(argv)
    truth_path = args.mutants / "ground-truth.json"
    if not truth_path.is_file() or not args.cluster_module.is_file():
        print(f"api_differential: need {truth_path} and {args.cluster_module}", file=sys.stderr)
        return 2
    truth = json.loads(truth_path.read_text())
    cluster = _cluster_module(args.cluster_module)
    bins = (
        {k: Path(v) for k, v in json.loads(args.bins.read_text()).items()}
        if args.bins
        else cluster.binaries()
    )
    config = load_config(REPO)
    objects = api_mutants.rendered_objects(config)
    server: dict[str, dict] = {}
    with cluster.LocalCluster(bins, controllers=False) as api:
        prepare(api, cluster, objects, args.crds)
        for mutant_id in sorted(truth):
            obj = yaml.safe_load((args.mutants / f"{mutant_id}.yaml").read_text())
            verdict, message = server_verdict(api, obj)
            server[mutant_id] = {"verdict": verdict, "message": message}
    (args.mutants / "server-verdicts.json").write_text(json.dumps(server, indent=1, sort_keys=True))
    ours = api_mutants.llmfleet_verdicts(config, args.mutants, sorted(truth))
    agree = sum(ours[m][0] == server[m]["verdict"] for m in truth)
    table = sum(truth[m]["verdict"] == server[m]["verdict"] for m in truth)
    false_rejects = [m for m in truth if ours[m][0] == "reject" and server[m]["verdict"] == "accept"]
    misses = [m for m in truth if ours[m][0] == "accept" and server[m]["verdict"] == "reject"]
    held = [m for m in truth if truth[m].get("held_out")]
    held_agree = sum(ours[m][0] == server[m]["verdict"] for m in held)
    print(
        f"{len(truth)} mutants: llmfleet agrees with kube-apiserver on {agree} ({agree / len(truth):.2%}); "
        f"the operator table on {table} ({table / len(truth):.2%}); held-out {len(held)}: "
        f"{held_agree / max(len(held), 1):.2%}"
    )
    for m in false_rejects:
        print(f"  llmfleet rejects, the server accepts: {m} {ours[m][1]} {ours[m][2][:1]}")
    for m in misses:
        print(f"  llmfleet accepts, the server rejects: {m}: {server[m]['message'][:200]}")
    return 0 if not false_rejects and agree / len(truth) >= args.min_agreement else 1


if __name__ == "__main__":
    sys.exit(main())
