"""PersistentVolumeClaims and the pods that mount them: a claim's access modes (from a
PersistentVolumeClaim object of the input, or declared by a custom resource whose operator
creates it) and every pod template that mounts it by name.

A StatefulSet's ``volumeClaimTemplates`` give each pod its own claim, so they are no shared
claim; a pod volume with the name of a volumeClaimTemplate is replaced by the per-pod claim
(the StatefulSet controller, docs/reference/storage.md).  Ephemeral volumes are per pod too.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmfleet.model.k8s import Resource, as_list, dig
from llmfleet.model.workloads import PodTemplate, Workload

READ_WRITE_ONCE = "ReadWriteOnce"
READ_WRITE_ONCE_POD = "ReadWriteOncePod"
READ_ONLY_MANY = "ReadOnlyMany"
READ_WRITE_MANY = "ReadWriteMany"
#: Modes that let pods on several nodes use the claim at once.
MANY_NODES = frozenset({READ_ONLY_MANY, READ_WRITE_MANY})


@dataclass(frozen=True)
class Claim:
    """A claim and its access modes, with the object and pointer that state them."""

    namespace: str
    name: str
    access_modes: tuple[str, ...]
    resource: Resource
    path: str

    @property
    def many_nodes(self) -> bool:
        return any(mode in MANY_NODES for mode in self.access_modes)

    @property
    def one_pod(self) -> bool:
        return READ_WRITE_ONCE_POD in self.access_modes

    @property
    def one_node(self) -> bool:
        return READ_WRITE_ONCE in self.access_modes and not self.many_nodes


@dataclass(frozen=True)
class ClaimUse:
    """One pod template that mounts a claim by name."""

    template: PodTemplate
    claim: str
    path: str  # pointer of the claim's name in the workload object

    @property
    def workload(self) -> Workload:
        return self.template.workload

    @property
    def namespace(self) -> str:
        return self.template.namespace


def claims(resources: list[Resource], workloads: list[Workload]) -> dict[tuple[str, str], Claim]:
    """``(namespace, name) → Claim`` of every claim whose access modes the input states: the
    PersistentVolumeClaim objects first, then claims declared by custom resources."""
    found: dict[tuple[str, str], Claim] = {}
    for res in resources:
        if res.kind != "PersistentVolumeClaim" or res.group or not res.name:
            continue
        modes = tuple(str(m) for m in as_list(dig(res.data, "spec", "accessModes")) if m)
        if modes:
            found.setdefault(
                (res.namespace, res.name), Claim(res.namespace, res.name, modes, res, "/spec/accessModes")
            )
    for workload in workloads:
        for declared in workload.declared_claims:
            if declared.access_modes:
                key = (workload.namespace, declared.name)
                found.setdefault(
                    key,
                    Claim(
                        workload.namespace,
                        declared.name,
                        declared.access_modes,
                        workload.resource,
                        declared.path,
                    ),
                )
    return found


def claim_uses(template: PodTemplate) -> list[ClaimUse]:
    """The shared claims a pod template mounts (not a StatefulSet's per-pod claims)."""
    per_pod = _claim_templates(template.workload)
    uses = []
    for i, volume in enumerate(as_list(template.spec.get("volumes"))):
        if not isinstance(volume, dict) or volume.get("name") in per_pod:
            continue
        name = dig(volume, "persistentVolumeClaim", "claimName")
        if isinstance(name, str) and name:
            path = f"{template.spec_path}/volumes/{i}/persistentVolumeClaim/claimName"
            uses.append(ClaimUse(template, name, path))
    uses += [ClaimUse(template, name, path) for name, path in template.claim_mounts]
    return uses


def _claim_templates(workload: Workload) -> set[str]:
    if workload.kind != "StatefulSet":
        return set()
    items = as_list(dig(workload.resource.data, "spec", "volumeClaimTemplates"))
    return {
        str(dig(t, "metadata", "name")) for t in items if isinstance(t, dict) and dig(t, "metadata", "name")
    }
