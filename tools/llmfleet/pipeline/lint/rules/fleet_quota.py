"""fleet-quota: the fleet at maximum scale must fit the namespace's accelerator quota.

Per namespace, the accelerators every overlay's workloads hold at their maximum scale
(``AcceleratorUse.at_max``: the autoscaler's maximum, KEDA's default 100 when unset, × the
accelerators one replica holds, a LeaderWorkerSet group counting all its pods) are added and
compared with each ResourceQuota's ``requests.<resource>``/``limits.<resource>`` for that
accelerator.  Above it, KEDA asks for replicas the quota rejects.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.pipeline.lint.api import FleetModel, Options, Problem, Severity, rule


@rule(
    id="fleet-quota",
    severity=Severity.ERROR,
    scope="fleet",
    description="Sum over overlays of GPUs at maximum scale exceeds the namespace's "
    "accelerator ResourceQuota",
    remediation="Lower maxReplicaCount of some models or raise requests.nvidia.com/gpu in the "
    "platform ResourceQuota so that the fleet at max scale fits.",
    rationale="KEDA scales into pods the quota rejects: the HPA asks for replicas that are "
    "never created, and the queue keeps growing (docs/reference/kubernetes.md).",
    category="fleet",
)
def check(fleet: FleetModel, options: Options) -> Iterator[Problem]:
    """Passing: quota ``requests.nvidia.com/gpu: "16"``; overlays at max scale 4×1 + 2×4 = 12.

    Failing (the ResourceQuota, ``/spec/hard/requests.nvidia.com~1gpu``): quota 8, overlays
    at max scale 4×1 + 2×4 = 12.
    """
    uses = fleet.accelerator_uses()
    for quota in fleet.quotas():
        namespace = quota.resource.namespace
        in_ns = [
            u for u in uses if u.workload.namespace == namespace and u.resource_name == quota.accelerator
        ]
        if any(u.at_max is None for u in in_ns):
            continue  # a workload's replica count cannot be told
        total = sum(u.at_max or 0 for u in in_ns)
        if total > quota.hard:
            parts = ", ".join(
                f"{u.overlay}: {u.replicas.maximum} × {u.per_replica_max} ({u.replicas.source})"
                for u in in_ns
            )
            yield Problem(
                quota.resource,
                quota.path,
                f"the fleet at maximum scale needs {total} {quota.accelerator} in namespace "
                f"{namespace!r} ({parts}) but the quota allows {quota.hard}: KEDA would "
                "scale into pods the quota rejects",
            )
