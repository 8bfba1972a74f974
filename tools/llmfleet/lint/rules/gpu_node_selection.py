"""gpu-node-selection: a GPU pod should say which GPU it needs.

A pod that only requests ``nvidia.com/gpu`` runs on whatever GPU node has room: a 70B model
sized for 80 GB H100s lands on a 24 GB L4 and fails at startup with "No available memory for
the cache blocks" (docs/reference/vllm-0.33.md §4.1, §5.8).  Pin the GPU type with a
nodeSelector or a required node affinity on one of the node labels in ``lint.gpu-label-keys``
(llmfleet.yaml).  No generic linter checks this (docs/reference/tooling.md §4.3).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.context import dig
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import gpu_workloads


def selects_gpu(spec: dict, keys: list[str]) -> bool:
    selector = spec.get("nodeSelector")
    if isinstance(selector, dict) and any(k in selector for k in keys):
        return True
    terms = dig(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                "nodeSelectorTerms")
    if not isinstance(terms, list) or not terms:
        return False
    # Terms are ORed: every term must pin a GPU label.
    for term in terms:
        expressions = dig(term, "matchExpressions")
        if not isinstance(expressions, list) or not any(
                isinstance(e, dict) and e.get("key") in keys
                and e.get("operator") in ("In", "Exists") for e in expressions):
            return False
    return True


@rule(id="gpu-node-selection", severity=Severity.WARNING,
      description="A pod requesting GPUs does not select a GPU type (nodeSelector or required "
                  "node affinity on a GPU label)",
      remediation="Add nodeSelector {<gpu-label-key>: <gpu class>} (for example "
                  "llmfleet.io/gpu-class: h100-80gb) through the GPU component.",
      category="gpu")
def check(ctx):
    """Passing::

        spec:
          nodeSelector: {llmfleet.io/gpu-class: h100-80gb}
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]

    Failing (``/spec/template/spec``)::

        spec:
          containers: [{name: vllm, resources: {limits: {nvidia.com/gpu: 1}}}]
    """
    keys = list(ctx.settings.gpu_label_keys)
    for workload in gpu_workloads(ctx):
        if selects_gpu(workload.spec, keys):
            continue
        yield Problem(workload.resource, workload.spec_path,
                      "the pod requests GPUs but selects no GPU type: no nodeSelector or required "
                      f"node affinity on any of {', '.join(keys)}")
