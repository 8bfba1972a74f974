"""gpu-visible-devices: CUDA_VISIBLE_DEVICES must name only GPUs the pod was given.

The NVIDIA device plugin exposes to a container exactly the GPUs it requests, numbered from 0
inside the container; ``CUDA_VISIBLE_DEVICES`` then selects among those.  A list with more
entries than the request, or an index at or above it, names devices the container does not
have.  CUDA makes visible only the devices listed before the first invalid index: none at all
when the first is invalid (CUDA finds no device: an error), else fewer than listed (an error
when the vLLM server's parallel size needs more, a warning otherwise: it runs on fewer GPUs
than the list says) (docs/reference/servers.md "GPU visibility").
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.accelerators import NVIDIA_GPU
from llmfleet.model.workloads import Container
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="gpu-visible-devices",
    severity=Severity.ERROR,
    description="CUDA_VISIBLE_DEVICES names more GPUs, or higher indices, than the container requests",
    remediation="Drop CUDA_VISIBLE_DEVICES (the device plugin already limits the container to its "
    "GPUs), or list indices 0..N-1 for a request of N GPUs.",
    rationale="Inside the container the requested GPUs are numbered 0..N-1; other indices name "
    "nothing and CUDA fails to start (docs/reference/servers.md, GPU visibility).",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        env: [{name: CUDA_VISIBLE_DEVICES, value: "0,1"}]
        resources: {limits: {nvidia.com/gpu: 2}}

    Failing (``/spec/template/spec/containers/0/env/0``)::

        env: [{name: CUDA_VISIBLE_DEVICES, value: "0,1,2,3"}]
        resources: {limits: {nvidia.com/gpu: 1}}
    """
    for container in model.containers():
        found = container.env_var("CUDA_VISIBLE_DEVICES")
        if found is None:
            continue
        index, item = found
        value = item.get("value")
        if not isinstance(value, str) or "$" in value:
            continue
        entries = [e.strip() for e in value.split(",") if e.strip()]
        if not entries or not all(e.isdigit() for e in entries):
            continue  # UUIDs (GPU-...), "all", "none": not judged
        request = int(container.request(NVIDIA_GPU))
        if request <= 0:
            continue  # gpu-missing's question
        beyond = [e for e in entries if int(e) >= request]
        if len(entries) > request or beyond:
            visible = _visible(entries, request)
            needs = _needs(model, container)
            certain = visible == 0 or (needs is not None and needs > visible)
            yield Problem(
                container.resource,
                f"{container.path}/env/{index}",
                f"CUDA_VISIBLE_DEVICES={value!r} in container {container.name!r} names "
                f"{len(entries)} GPU(s)"
                + (f" (index {', '.join(beyond)} ≥ {request})" if beyond else "")
                + f" but the container requests {request}: inside it the GPUs are 0..{request - 1}; "
                + (
                    "CUDA sees no GPU at all"
                    if visible == 0
                    else f"CUDA sees only the {visible} listed before the first invalid index"
                    + (f", and the server needs {needs}" if needs is not None and needs > visible else "")
                ),
                None if certain else Severity.WARNING,
            )


def _visible(entries: list[str], request: int) -> int:
    """Devices CUDA makes visible: the distinct valid indices before the first invalid one
    (CUDA Programming Guide, "CUDA_VISIBLE_DEVICES")."""
    seen: list[str] = []
    for entry in entries:
        if int(entry) >= request or entry in seen:
            break
        seen.append(entry)
    return len(seen)


def _needs(model: OverlayModel, container: Container) -> int | None:
    """GPUs the vLLM server of the container needs (tensor × pipeline × data parallel)."""
    server = model.server_of(container)
    return None if server is None else server.world_size
