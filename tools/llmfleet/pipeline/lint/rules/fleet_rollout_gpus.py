"""fleet-rollout-gpus: a rolling update needs spare accelerators when the fleet is at peak.

A Deployment's rolling update creates ``maxSurge`` extra pods (25% by default, rounded up)
before it removes old ones; at maximum scale those pods need accelerators beyond the fleet's
total.  When the quota has no such headroom the rollout stalls until load drops.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.scaling import rollout_surge
from llmfleet.pipeline.lint.api import FleetModel, Options, Problem, Severity, rule


@rule(
    id="fleet-rollout-gpus",
    severity=Severity.WARNING,
    scope="fleet",
    description="A rolling update with maxSurge > 0 needs spare GPUs but the quota has no "
    "headroom beyond the fleet at maximum scale",
    remediation="Set strategy.rollingUpdate {maxSurge: 0, maxUnavailable: 1} on GPU "
    "Deployments, or leave quota headroom for the largest surge.",
    rationale="A surge pod needs its GPUs before an old pod is removed; with the quota used up "
    "at peak, the rollout waits for a quota that never frees (apps/v1 "
    "DeploymentStrategy; docs/reference/kubernetes.md).",
    category="fleet",
)
def check(fleet: FleetModel, options: Options) -> Iterator[Problem]:
    """Passing::

        strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}

    Failing (the Deployment, ``/spec/strategy``): default maxSurge 25% while the quota equals
    the fleet's GPUs at maximum scale.
    """
    uses = fleet.accelerator_uses()
    quotas = fleet.quotas()
    for use in uses:
        hard = [
            q.hard
            for q in quotas
            if q.resource.namespace == use.workload.namespace and q.accelerator == use.resource_name
        ]
        if not hard or use.replicas.maximum is None:
            continue
        surge, path = rollout_surge(use.workload, use.replicas.maximum)
        if surge <= 0:
            continue
        same = [
            u
            for u in uses
            if u.workload.namespace == use.workload.namespace and u.resource_name == use.resource_name
        ]
        if any(u.at_max is None for u in same):
            continue
        total = sum(u.at_max or 0 for u in same)
        need = total + surge * use.per_replica_max
        if need > min(hard):
            yield Problem(
                use.workload.resource,
                path,
                f"a rolling update surges {surge} pod(s) × {use.per_replica_max} GPUs at "
                f"maximum scale: {total} + {surge * use.per_replica_max} = {need} GPUs, "
                f"above the quota of {min(hard)} in namespace {use.workload.namespace!r}; "
                "the rollout stalls at peak",
            )
