"""gpu-request-limit: accelerators must be requested and limited equally.

Kubernetes cannot overcommit extended resources (``nvidia.com/gpu``, ``amd.com/gpu``,
``google.com/tpu``, ...): the API server rejects a container whose request of one has no
limit, or differs from its limit.  A limit alone is valid (the request defaults to it).
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.accelerators import is_accelerator
from llmfleet.model.k8s import as_dict, dig, escape_pointer_token, parse_quantity
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="gpu-request-limit",
    severity=Severity.ERROR,
    description="An accelerator (nvidia.com/gpu, amd.com/gpu, google.com/tpu, ...) is requested "
    "without a limit, or its request and limit differ",
    remediation="Set resources.limits of the accelerator (requests default to it), or requests "
    "and limits to the same whole number (the GPU components do this).",
    rationale="Extended resources cannot be overcommitted: the API server rejects a container "
    "whose request has no limit or differs from it (Kubernetes docs, 'Extended "
    "resources'; docs/reference/kubernetes.md). A limit alone is valid: the request "
    "defaults to it.",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        resources:
          limits: {nvidia.com/gpu: 1}

    Failing (``/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu``)::

        resources:
          requests: {nvidia.com/gpu: 2}
          limits: {nvidia.com/gpu: 1}
    """
    for container in model.containers():
        requests = as_dict(dig(container.data, "resources", "requests"))
        limits = as_dict(dig(container.data, "resources", "limits"))
        for name in dict.fromkeys([*requests, *limits]):
            if not is_accelerator(str(name)):
                continue
            token = escape_pointer_token(name)
            base = f"{container.path}/resources"
            if name not in limits:
                yield Problem(
                    container.resource,
                    f"{base}/requests/{token}",
                    f"container {container.name!r} requests {requests[name]} {name} with no "
                    "limit: the API server rejects it (extended resources need a limit)",
                )
            elif name in requests and parse_quantity(requests[name]) != parse_quantity(limits[name]):
                yield Problem(
                    container.resource,
                    f"{base}/limits/{token}",
                    f"container {container.name!r} requests {requests[name]} but limits "
                    f"{limits[name]} {name}; they must be equal",
                )
