"""scaler-replicas: a workload scaled by KEDA must not set ``spec.replicas``.

KEDA drives ``spec.replicas`` through the HPA it creates.  A manifest that also sets it makes
every sync (kubectl apply, Argo CD self-heal) reset the replica count to the manifest's value:
the fleet drops to that count, and for vLLM each pod that comes back costs a cold load
(kube-score: deployment-targeted-by-hpa-does-not-have-replicas-configured,
docs/reference/tooling.md §4.2).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="scaler-replicas",
    severity=Severity.WARNING,
    description="A workload managed by a ScaledObject or an HPA also sets spec.replicas",
    remediation="Remove spec.replicas from the Deployment (a kustomize patch with "
    "`$patch: delete`, or do not set it in the base); minReplicaCount rules.",
    rationale="Every GitOps sync writes spec.replicas back, fighting the HPA that KEDA created; "
    "the replica count jumps on each sync (docs/reference/tooling.md §8).",
    category="scaler",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing: the Deployment has no ``spec.replicas``.

    Failing (``/spec/replicas`` of the Deployment)::

        kind: Deployment
        spec: {replicas: 1}    # and a ScaledObject targets it
    """
    for scaler in model.autoscalers:  # KEDA ScaledObjects and HorizontalPodAutoscalers
        workload = scaler.target
        if workload is None:
            continue
        spec = workload.resource.data.get("spec")
        if isinstance(spec, dict) and "replicas" in spec:
            yield Problem(
                workload.resource,
                "/spec/replicas",
                f"{scaler.resource.ref} manages the replicas of this workload, but it sets "
                f"spec.replicas: {spec['replicas']!r}: every sync resets the scale",
            )
