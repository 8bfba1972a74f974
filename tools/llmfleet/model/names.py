"""How long the names of an input's objects may be, counting the names Kubernetes and its
controllers derive from them.

Limits (docs/reference/tooling.md §8 for KEDA; Kubernetes API validation for the rest):

* a **label value** has at most 63 characters (``app.kubernetes.io/instance: <overlay>``);
* a **Service** name is a DNS-1035 label: at most 63;
* a **ScaledObject**: KEDA creates HPA ``keda-hpa-<name>``, whose name is a label value in
  its own metrics: at most 63 - 9 = 54 (unless ``horizontalPodAutoscalerConfig.name`` names
  the HPA);
* a **Job**: its pods carry ``job-name: <name>`` (and ``batch.kubernetes.io/job-name``):
  at most 63;
* a **StatefulSet**: its pods carry ``controller-revision-hash: <name>-<hash>`` with a hash
  of up to 10 characters: at most 63 - 11 = 52;
* a **LeaderWorkerSet** ``<name>``: a DNS-1035 label (its headless Service, 63); its leader
  StatefulSet is ``<name>`` and each group's worker StatefulSet ``<name>-<group>`` (LWS
  v0.10.0 pkg/controllers, docs/reference/vllm-multinode.md §5.2), so
  ``<name>-<max replicas - 1>`` must fit the StatefulSet limit of 52.

:func:`limits` lists every such name of an input with its limit; :func:`name_bound` turns
them into the longest overlay name (namePrefix) that keeps all of them within their limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmfleet.model.k8s import Resource, as_dict, dig
from llmfleet.model.scaling import KEDA_HPA_PREFIX, KEDA_MAX_NAME

LABEL_MAX = 63
DNS_LABEL_MAX = 63
#: A StatefulSet's pods carry controller-revision-hash: <name>-<hash of up to 10 characters>.
STATEFULSET_MAX = LABEL_MAX - 11


@dataclass(frozen=True)
class NameLimit:
    resource: Resource
    path: str  # JSON pointer of the name (or the label) in the resource
    name: str  # the name as checked (derived names included)
    limit: int
    why: str

    @property
    def over(self) -> int:
        return len(self.name) - self.limit


def _custom_hpa_name(res: Resource) -> Any:
    return dig(res.data, "spec", "advanced", "horizontalPodAutoscalerConfig", "name")


def limits(resources: list[Resource], max_replicas: dict[str, int] | None = None) -> list[NameLimit]:
    """Every name-length limit that applies to ``resources``.  ``max_replicas`` maps a
    LeaderWorkerSet's name to its most groups (default 1: group 0 only)."""
    found: list[NameLimit] = []
    for res in resources:
        name = res.name or ""
        if res.kind == "ScaledObject" and not _custom_hpa_name(res):
            found.append(
                NameLimit(
                    res,
                    "/metadata/name",
                    name,
                    KEDA_MAX_NAME,
                    f"KEDA's HPA {KEDA_HPA_PREFIX}{name} must fit a label value (63)",
                )
            )
        elif res.kind == "Service":
            found.append(
                NameLimit(
                    res, "/metadata/name", name, DNS_LABEL_MAX, "a Service name is a DNS-1035 label (63)"
                )
            )
        elif res.kind == "Job":
            found.append(
                NameLimit(
                    res, "/metadata/name", name, LABEL_MAX, "its pods carry the label job-name: <name> (63)"
                )
            )
        elif res.kind == "StatefulSet":
            found.append(
                NameLimit(
                    res,
                    "/metadata/name",
                    name,
                    STATEFULSET_MAX,
                    "its pods carry controller-revision-hash: <name>-<10-character hash> (63)",
                )
            )
        elif res.kind == "LeaderWorkerSet":
            found.append(
                NameLimit(
                    res,
                    "/metadata/name",
                    name,
                    DNS_LABEL_MAX,
                    "a LeaderWorkerSet name is a DNS-1035 label (its headless Service)",
                )
            )
            groups = max(1, (max_replicas or {}).get(name, 1))
            worker = f"{name}-{groups - 1}"
            found.append(
                NameLimit(
                    res,
                    "/metadata/name",
                    worker,
                    STATEFULSET_MAX,
                    f"the worker StatefulSet of group {groups - 1} is {worker}, and its "
                    "pods carry controller-revision-hash: <name>-<10-character hash> (63)",
                )
            )
        for key, value in as_dict(dig(res.data, "metadata", "labels")).items():
            if isinstance(value, str):
                found.append(
                    NameLimit(
                        res,
                        f"/metadata/labels/{str(key).replace('/', '~1')}",
                        value,
                        LABEL_MAX,
                        f"label {key} is a label value (63)",
                    )
                )
    return found


def name_bound(found: list[NameLimit], name: str) -> tuple[int, NameLimit | None]:
    """The longest ``name`` (an overlay's namePrefix stem, which every name contains) that
    keeps every limit, and the limit that binds; (a large number, None) when none applies."""
    bound, binding = 10_000, None
    for item in found:
        if name not in item.name:
            continue
        room = item.limit - (len(item.name) - len(name))
        if room < bound:
            bound, binding = room, item
    return bound, binding
