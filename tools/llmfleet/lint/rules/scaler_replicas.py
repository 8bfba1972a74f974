"""scaler-replicas: a workload scaled by KEDA must not set ``spec.replicas``.

KEDA drives ``spec.replicas`` through the HPA it creates.  A manifest that also sets it makes
every sync (kubectl apply, Argo CD self-heal) reset the replica count to the manifest's value:
the fleet drops to that count, and for vLLM each pod that comes back costs a cold load
(kube-score: deployment-targeted-by-hpa-does-not-have-replicas-configured,
docs/reference/tooling.md §4.2).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import resolve_target


@rule(id="scaler-replicas", severity=Severity.WARNING,
      description="A workload managed by a ScaledObject also sets spec.replicas",
      remediation="Remove spec.replicas from the Deployment (a kustomize patch with "
                  "`$patch: delete`, or do not set it in the base); minReplicaCount rules.",
      category="scaler")
def check(ctx):
    """Passing: the Deployment has no ``spec.replicas``.

    Failing (``/spec/replicas`` of the Deployment)::

        kind: Deployment
        spec: {replicas: 1}    # and a ScaledObject targets it
    """
    for scaled in ctx.of_kind("ScaledObject"):
        workload, _ = resolve_target(ctx, scaled)
        if workload is None:
            continue
        spec = workload.resource.data.get("spec")
        if isinstance(spec, dict) and "replicas" in spec:
            yield Problem(workload.resource, "/spec/replicas",
                          f"{scaled.ref} manages the replicas of this workload, but it sets "
                          f"spec.replicas: {spec['replicas']!r}: every sync resets the scale")
