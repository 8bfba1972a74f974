"""gpu-toleration: a pod that requests GPUs must tolerate the GPU node taint.

GPU node pools are tainted so that ordinary pods stay off them: GKE adds
``nvidia.com/gpu=present:NoSchedule`` to every GPU node, and the repository's node pools use
the key configured as ``lint.gpu-taint-key`` in llmfleet.yaml.  A GPU pod without a matching
toleration stays Pending forever.  No generic linter checks this
(docs/reference/tooling.md §0, §4.3: "GPU requests/limits, tolerations, nodeSelector: none").  A toleration
with ``operator: Exists`` and no key tolerates every taint (Kubernetes, "Taints and
Tolerations").
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import gpu_workloads, pod_gpus

TOLERATED_EFFECTS = (None, "", "NoSchedule")


def tolerates(toleration: dict, key: str) -> bool:
    if not isinstance(toleration, dict):
        return False
    operator = toleration.get("operator") or "Equal"
    effect = toleration.get("effect")
    if effect not in TOLERATED_EFFECTS:
        return False
    if not toleration.get("key"):
        return operator == "Exists"
    return toleration.get("key") == key


@rule(id="gpu-toleration", severity=Severity.ERROR,
      description="A pod requesting GPUs does not tolerate the GPU node taint",
      remediation="Add a toleration {key: <gpu-taint-key>, operator: Exists, effect: NoSchedule} "
                  "to the pod spec (the GPU components do this).",
      category="gpu")
def check(ctx):
    """Passing::

        spec:
          tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]

    Failing (``/spec/template/spec``)::

        spec:
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]
    """
    key = ctx.settings.gpu_taint_key
    for workload in gpu_workloads(ctx):
        tolerations = workload.spec.get("tolerations")
        items = tolerations if isinstance(tolerations, list) else []
        if any(tolerates(t, key) for t in items):
            continue
        path = f"{workload.spec_path}/tolerations" if items else workload.spec_path
        yield Problem(workload.resource, path,
                      f"the pod requests {pod_gpus(workload)} GPU(s) but does not tolerate the "
                      f"{key!r} NoSchedule taint of GPU nodes: it will stay Pending")
