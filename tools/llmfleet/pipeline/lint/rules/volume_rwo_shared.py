"""volume-rwo-shared: a ReadWriteOnce or ReadWriteOncePod claim mounted by more than one pod.

``ReadWriteOnce`` lets one *node* attach the volume read-write; pods on that node may share it,
a pod on another node waits in ContainerCreating with a "Multi-Attach error" (the
attach/detach controller's words: "Typically it's user error, e.g. a ReplicaSet uses a PVC and
has >1 replicas").  Whether the pods land on one node depends on the cluster, and a storage
that needs no attach (NFS) does not enforce it: a warning.  ``ReadWriteOncePod`` lets one *pod*
use the claim in the whole cluster; the scheduler keeps every other pod that names it Pending
(VolumeRestrictions plugin): an error, whatever the cluster.  A Deployment of one replica on a
ReadWriteOncePod claim whose rolling update surges never finishes a rollout: the new pod waits
for the old one, which waits for the new one to be ready (a warning: the old pod keeps serving);
on a ReadWriteOnce claim the same rollout hangs whenever the surge pod lands on another node.

Pods are counted at the workload's largest scale (replicas, an autoscaler's maximum, a
LeaderWorkerSet's group size, a Dynamo service's replicas) and summed over every workload of
the input that mounts the claim.  A StatefulSet's ``volumeClaimTemplates`` give each pod its
own claim and are not counted.  A claim whose access modes the input does not state is not
judged.  Sources: docs/reference/storage.md.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.claims import Claim, ClaimUse, claim_uses, claims
from llmfleet.model.k8s import dig, to_int
from llmfleet.model.scaling import rollout_surge
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

DEFAULT_UNAVAILABLE = "25%"


@rule(
    id="volume-rwo-shared",
    severity=Severity.WARNING,
    description="A ReadWriteOnce claim is mounted by more than one pod (they must all run on the node "
    "that attaches it), or a ReadWriteOncePod claim by more than one pod (the others never start); "
    "or one Deployment pod on such a claim whose rolling update starts the new pod first",
    remediation="Give the claim ReadWriteMany (a shared file system) or ReadOnlyMany for a read-only "
    "model cache, give each pod its own claim (StatefulSet volumeClaimTemplates), or run one replica.",
    rationale="A ReadWriteOnce volume attaches to one node: a replica scheduled elsewhere hangs in "
    "ContainerCreating (Multi-Attach error); a ReadWriteOncePod claim admits one pod in the cluster "
    "(docs/reference/storage.md).",
    category="volume",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (ReadWriteMany, or one replica)::

        kind: PersistentVolumeClaim
        metadata: {name: cache}
        spec: {accessModes: [ReadWriteMany]}

    Failing, warning (``/spec/template/spec/volumes/0/persistentVolumeClaim/claimName``)::

        kind: Deployment
        spec: {replicas: 3, template: {spec: {volumes: [{name: c, persistentVolumeClaim: {claimName: cache}}]}}}
        # and the claim cache is ReadWriteOnce

    Failing, error: the same with a ReadWriteOncePod claim.
    """
    known = claims(model.resources, model.workloads)
    uses: dict[tuple[str, str], list[tuple[ClaimUse, int | None]]] = {}
    for workload in model.workloads:
        if not workload.runs_pods:
            continue  # a runtime template: the objects that instantiate it run the pods
        replicas = model.replicas(workload).maximum
        for template in workload.templates:
            for use in claim_uses(template):
                if (use.namespace, use.claim) in known:
                    pods = None if replicas is None else replicas * template.pods_max
                    uses.setdefault((use.namespace, use.claim), []).append((use, pods))
    for key, mounted in uses.items():
        claim = known[key]
        if claim.many_nodes or not (claim.one_pod or claim.one_node):
            continue
        counts = [pods for _, pods in mounted]
        if None in counts:  # a DaemonSet: one pod on every node it runs on
            yield from _report(claim, mounted, "one pod on every node", Severity.WARNING)
            continue
        total = sum(c for c in counts if c is not None)
        if total > 1:
            severity = Severity.ERROR if claim.one_pod else Severity.WARNING
            yield from _report(claim, mounted, f"up to {total} pods", severity)
        elif total == 1:
            yield from _stuck_rollout(claim, mounted[0][0])


def _report(
    claim: Claim, mounted: list[tuple[ClaimUse, int | None]], pods: str, severity: Severity
) -> Iterator[Problem]:
    workloads = sorted({use.workload.resource.ref for use, _ in mounted})
    who = workloads[0] if len(workloads) == 1 else f"{len(workloads)} workloads ({', '.join(workloads)})"
    if claim.one_pod:
        effect = (
            "ReadWriteOncePod admits one pod in the whole cluster: the scheduler keeps every other "
            "pod that names it Pending"
        )
    else:
        effect = (
            "ReadWriteOnce attaches to one node: a pod scheduled on another node waits in "
            "ContainerCreating (Multi-Attach error), so this works only while every pod lands on "
            "that node"
        )
    seen = set()
    for use, _ in mounted:
        where = (id(use.workload.resource), use.path)
        if where in seen:
            continue
        seen.add(where)
        yield Problem(
            use.workload.resource,
            use.path,
            f"claim {claim.name!r} ({', '.join(claim.access_modes)} in {claim.resource.ref}) is mounted "
            f"by {pods} of {who}: {effect}",
            severity,
        )


def _stuck_rollout(claim: Claim, use: ClaimUse) -> Iterator[Problem]:
    """One Deployment replica on a ReadWriteOncePod claim: a surge pod can never start, and
    with no unavailable pod allowed the old one is never removed.  On a ReadWriteOnce claim the
    same happens whenever the surge pod is scheduled on another node (Multi-Attach)."""
    workload = use.workload
    if workload.kind != "Deployment":
        return
    replicas = workload.replicas.maximum or 1
    surge, _ = rollout_surge(workload, replicas)
    if surge < 1 or _max_unavailable(workload.resource.data, replicas) >= 1:
        return
    if claim.one_pod:
        effect = "the new pod stays Pending (the old one holds the claim) and no rollout ever finishes"
    else:
        effect = (
            "ReadWriteOnce attaches to one node, so a new pod scheduled on another node waits in "
            "ContainerCreating (Multi-Attach error) while the old one keeps the volume, and the "
            "rollout hangs"
        )
    yield Problem(
        workload.resource,
        use.path,
        f"claim {claim.name!r} is {', '.join(claim.access_modes)} and the Deployment's rolling "
        f"update starts {surge} new pod(s) before it stops the old one: {effect}; use strategy "
        "Recreate or maxSurge: 0 with maxUnavailable: 1",
        Severity.WARNING,
    )


def _max_unavailable(data: dict, replicas: int) -> int:
    """``maxUnavailable`` of a rolling update (default 25%, percentages rounded down; apps/v1)."""
    if dig(data, "spec", "strategy", "type") == "Recreate":
        return replicas
    raw = dig(data, "spec", "strategy", "rollingUpdate", "maxUnavailable")
    value = DEFAULT_UNAVAILABLE if raw is None else raw
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return int(replicas * float(value.strip()[:-1]) // 100)
        except ValueError:
            return 0
    return to_int(value, 0) or 0
