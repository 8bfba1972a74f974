"""fleet-rollout-gpus: a rolling update needs GPUs beyond the fleet's maximum.

A Deployment's RollingUpdate starts ``maxSurge`` extra pods (default 25%, rounded up) before
it stops old ones.  For a vLLM Deployment each surge pod needs the GPUs of a full replica;
when the namespace's GPU quota (``requests.nvidia.com/gpu``) has no headroom beyond the
fleet's sum at maximum scale (see fleet-quota), a rollout at peak blocks: the surge pod is
rejected by the quota and the rollout stalls until load drops.  Either leave headroom for the
largest surge, or use ``maxSurge: 0`` / ``maxUnavailable: 1`` (replace in place) for GPU
models.  Replica count for the surge is maxReplicaCount (the worst case; KEDA's default
maxReplicaCount is 100: docs/reference/tooling.md §8).  A surge pod also pays a full
cold load before the old pod goes (10+ minutes: docs/reference/vllm-0.33.md §5.9), so the
extra GPUs are held for that long.
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._fleet import all_uses, quotas, surge_pods


@rule(id="fleet-rollout-gpus", severity=Severity.WARNING, scope="fleet",
      description="A rolling update with maxSurge > 0 needs spare GPUs but the quota has no "
                  "headroom beyond the fleet at maximum scale",
      remediation="Set strategy.rollingUpdate {maxSurge: 0, maxUnavailable: 1} on GPU "
                  "Deployments, or leave quota headroom for the largest surge.",
      category="fleet")
def check(fleet):
    """Passing::

        strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}}

    Failing (the Deployment, ``/spec/strategy``): default maxSurge 25% while the quota equals
    the fleet's GPUs at maximum scale.
    """
    uses = all_uses(fleet)
    table = quotas(fleet)
    for use in uses:
        entries = table.get(use.workload.namespace)
        if not entries:
            continue
        surge, path = surge_pods(use.workload, use.max_replicas)
        if surge <= 0:
            continue
        total = sum(u.at_max for u in uses if u.workload.namespace == use.workload.namespace)
        hard = min(value for _, _, value in entries)
        need = total + surge * use.gpus_per_pod
        if need > hard:
            yield Problem(use.workload.resource, path,
                          f"a rolling update surges {surge} pod(s) × {use.gpus_per_pod} GPUs at "
                          f"maximum scale: {total} + {surge * use.gpus_per_pod} = {need} GPUs, "
                          f"above the quota of {hard} in namespace {use.workload.namespace!r}; the "
                          "rollout stalls at peak")
