"""gpu-request-limit: GPUs must be requested and limited alike.

Extended resources such as ``nvidia.com/gpu`` cannot be overcommitted: Kubernetes requires
the request to equal the limit when both are given, and fills a missing request from the
limit.  A request with no limit is rejected by the API server, and unequal values are
rejected too (Kubernetes docs, "Schedule GPUs": "you can specify GPU limits without
specifying requests ... if you specify both, they must be equal").  Writing both, equal,
makes the GPU count obvious to reviewers and to the other GPU rules.  No generic linter
checks GPU resources (docs/reference/tooling.md §0, §4.3), and the GPU count is what
vLLM's parallel size must match (docs/reference/vllm-0.33.md §2.2 "Parallelism", rule gpu-parallelism).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule

GPU_RESOURCE = "nvidia.com/gpu"


@rule(id="gpu-request-limit", severity=Severity.ERROR,
      description="nvidia.com/gpu is requested without an equal limit, or limited without a request",
      remediation="Set resources.requests and resources.limits of nvidia.com/gpu to the same "
                  "whole number (the GPU components do this).",
      category="gpu")
def check(ctx):
    """Passing::

        resources:
          requests: {nvidia.com/gpu: 1}
          limits: {nvidia.com/gpu: 1}

    Failing (``/spec/template/spec/containers/0/resources/limits``)::

        resources:
          requests: {nvidia.com/gpu: 2}
          limits: {nvidia.com/gpu: 1}
    """
    for container in ctx.containers():
        requested = container.resource_quantity("requests", GPU_RESOURCE)
        limited = container.resource_quantity("limits", GPU_RESOURCE)
        base = f"{container.path}/resources"
        if requested is None and limited is None:
            continue
        if limited is None:
            yield Problem(container.workload.resource, f"{base}/requests/{_escaped()}",
                          f"container {container.name!r} requests {requested} {GPU_RESOURCE} "
                          "with no limit")
        elif requested is None:
            yield Problem(container.workload.resource, f"{base}/limits/{_escaped()}",
                          f"container {container.name!r} limits {GPU_RESOURCE} to {limited} "
                          "without a request; write the request too, equal to the limit")
        elif str(requested) != str(limited):
            yield Problem(container.workload.resource, f"{base}/limits/{_escaped()}",
                          f"container {container.name!r} requests {requested} but limits "
                          f"{limited} {GPU_RESOURCE}; they must be equal")


def _escaped() -> str:
    return GPU_RESOURCE.replace("~", "~0").replace("/", "~1")
