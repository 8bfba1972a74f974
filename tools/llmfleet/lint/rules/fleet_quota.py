"""fleet-quota: the fleet at maximum scale must fit the namespace's GPU quota.

KEDA scales each model up to its ``maxReplicaCount`` (default 100: docs/reference/tooling.md §8) without
knowing about the other models.  When the sum over the overlays of maxReplicaCount × GPUs per
pod exceeds the namespace's ``ResourceQuota`` ``requests.nvidia.com/gpu`` (or
``limits.nvidia.com/gpu``), the API server rejects the extra pods (exceeded quota) and the
scaled-to replicas never appear, while the HPA keeps asking: the autoscaler's promise is
false exactly under load.  Overlays without a ScaledObject count spec.replicas (default 1).
The quota comes from the platform kustomization (namespace-wide objects).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._fleet import all_uses, quotas


@rule(id="fleet-quota", severity=Severity.ERROR, scope="fleet",
      description="Sum over overlays of maxReplicaCount × GPUs per pod exceeds the namespace's "
                  "GPU ResourceQuota",
      remediation="Lower maxReplicaCount of some models or raise requests.nvidia.com/gpu in the "
                  "platform ResourceQuota so that the fleet at max scale fits.",
      category="fleet")
def check(fleet):
    """Passing: quota ``requests.nvidia.com/gpu: "16"``; overlays at max scale 4×1 + 2×4 = 12.

    Failing (the ResourceQuota, ``/spec/hard/requests.nvidia.com~1gpu``): quota 8, overlays
    at max scale 4×1 + 2×4 = 12.
    """
    uses = all_uses(fleet)
    for namespace, entries in quotas(fleet).items():
        in_ns = [u for u in uses if u.workload.namespace == namespace]
        total = sum(u.at_max for u in in_ns)
        for quota, path, hard in entries:
            if total > hard:
                parts = ", ".join(f"{u.overlay}: {u.max_replicas} × {u.gpus_per_pod} "
                                  f"({u.source})" for u in in_ns)
                yield Problem(quota, path,
                              f"the fleet at maximum scale needs {total} GPUs in namespace "
                              f"{namespace!r} ({parts}) but the quota allows {hard}: KEDA would "
                              "scale into pods the quota rejects")
