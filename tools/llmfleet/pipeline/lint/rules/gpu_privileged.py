"""gpu-privileged: a GPU container must not run privileged.

The NVIDIA device plugin gives a container the GPUs it requests through the container
runtime (``NVIDIA_VISIBLE_DEVICES``); a privileged container gets every device of the host
in ``/dev`` and the runtime's selection does not apply: it sees all the node's GPUs, not the
ones allocated to it (kubernetes/kubernetes#81256 "GPU cannot be isolated when privileged is set
true"; ome-projects/ome#833: a privileged vLLM found another pod's GPU busy and failed, or
"silently squats on GPUs the device plugin has allocated to another pod").  A hostPath mount of
``/dev`` exposes the same devices.  Whether another pod shares the node depends on the cluster:
a warning (docs/reference/servers.md "GPU visibility").
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.accelerators import NVIDIA_GPU
from llmfleet.model.k8s import dig
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="gpu-privileged",
    severity=Severity.WARNING,
    description="A container that uses GPUs runs privileged (or mounts the host's /dev): it sees "
    "every GPU of the node, not only those allocated to it",
    remediation="Drop privileged: true (grant only the capabilities needed, e.g. IPC_LOCK for "
    "RDMA) and the hostPath /dev mount; request GPUs with nvidia.com/gpu and let the device "
    "plugin pick them (no hard-coded CUDA_VISIBLE_DEVICES).",
    rationale="Privileged containers bypass the device plugin's GPU isolation: on a shared node "
    "the server may load onto GPUs allocated to other pods (kubernetes/kubernetes#81256, "
    "ome-projects/ome#833).",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        resources: {limits: {nvidia.com/gpu: 1}}

    Failing (``/spec/template/spec/containers/0/securityContext/privileged``)::

        containers: [{name: vllm, securityContext: {privileged: true}, resources: {limits: {nvidia.com/gpu: 1}}}]
    """
    for template in model.templates:
        dev_volumes = {
            str(v.get("name"))
            for v in template.volumes
            if str(dig(v, "hostPath", "path") or "").rstrip("/") == "/dev"
        }
        for container in template.app_containers:
            uses_gpus = (
                container.request(NVIDIA_GPU) > 0 or container.env_var("CUDA_VISIBLE_DEVICES") is not None
            )
            if not uses_gpus:
                continue
            if dig(container.data, "securityContext", "privileged") is True:
                yield Problem(
                    container.resource,
                    f"{container.path}/securityContext/privileged",
                    f"container {container.name!r} uses GPUs and runs privileged: it sees every GPU "
                    "of the node, not only those the device plugin allocated to it, and may load "
                    "onto GPUs given to other pods",
                )
                continue
            for i, mount in enumerate(container.volume_mounts):
                if mount.get("name") in dev_volumes:
                    yield Problem(
                        container.resource,
                        f"{container.path}/volumeMounts/{i}",
                        f"container {container.name!r} uses GPUs and mounts the host's /dev: every "
                        "GPU of the node is reachable, not only those allocated to it",
                    )
                    break
