"""scaler-recreate: a model server that runs more than one replica must not roll out with
``strategy: Recreate``.

Recreate scales the old ReplicaSet to zero before the new one starts (apps/v1
DeploymentStrategy): every rollout takes all replicas down together, and an LLM server is
then out for a whole cold load (minutes).  With one replica that is the price of a
ReadWriteOnce cache or a single GPU; once the Deployment asks for more than one (replicas,
a KEDA ScaledObject or an HPA above one), a RollingUpdate with ``maxSurge: 0,
maxUnavailable: 1`` keeps the others serving (docs/reference/servers.md "Rollouts").
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.k8s import dig
from llmfleet.model.served import served
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="scaler-recreate",
    severity=Severity.ERROR,
    description="A Deployment of an LLM server with more than one replica (or autoscaled above "
    "one) uses strategy Recreate: every rollout is a full outage",
    remediation="Use strategy {type: RollingUpdate, rollingUpdate: {maxSurge: 0, maxUnavailable: 1}} "
    "(no spare GPU needed), and a ReadWriteMany cache if the pods share one.",
    rationale="Recreate stops every replica before starting the new ones; an LLM server is then "
    "down for a full model load at each rollout (apps/v1 DeploymentStrategy).",
    category="scaler",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing (one replica: Recreate frees the GPU and the RWO cache)::

        kind: Deployment
        spec: {replicas: 1, strategy: {type: Recreate}}

    Failing (``/spec/strategy/type``)::

        kind: Deployment
        spec: {strategy: {type: Recreate}}   # a ScaledObject targets it, maxReplicaCount: 4
    """
    seen = set()
    for item in served(model):
        workload = item.container.workload
        if workload.kind != "Deployment" or id(workload) in seen:
            continue
        seen.add(id(workload))
        if dig(workload.resource.data, "spec", "strategy", "type") != "Recreate":
            continue
        replicas = model.replicas(workload)
        if replicas.maximum is not None and replicas.maximum > 1:
            yield Problem(
                workload.resource,
                "/spec/strategy/type",
                f"strategy Recreate on an {item.engine} Deployment that runs up to "
                f"{replicas.maximum} replicas ({replicas.source}): every rollout stops all of "
                "them for a full model load",
            )
