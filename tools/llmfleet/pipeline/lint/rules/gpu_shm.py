"""gpu-shm: multi-GPU vLLM needs a memory-backed /dev/shm.

With tensor, pipeline or data parallelism (a world size above 1) vLLM's workers exchange
tensors through shared memory and NCCL; the container runtime's 64 MiB /dev/shm is far too
small.  The fix is an ``emptyDir: {medium: Memory}`` volume mounted at ``/dev/shm``.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.pods import memory_volume_at
from llmfleet.model.vllm.server import RAY_KINDS
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


@rule(
    id="gpu-shm",
    severity=Severity.ERROR,
    description="vLLM with a parallel size above 1 has no memory-backed /dev/shm",
    remediation="Add a volume {name: shm, emptyDir: {medium: Memory, sizeLimit: 2Gi}} and mount "
    "it at /dev/shm in the vLLM container (components/tensor-parallel).",
    rationale="NCCL and vLLM's shared-memory broadcast between workers need more than the "
    "container runtime's 64 MiB /dev/shm; without it multi-GPU start-up fails with "
    "'Error while creating shared memory segment' (docs/reference/vllm.md §5.1).",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        containers: [{name: vllm, args: [-tp, "2"], volumeMounts: [{name: shm, mountPath: /dev/shm}]}]
        volumes: [{name: shm, emptyDir: {medium: Memory, sizeLimit: 2Gi}}]

    Passing (``hostIPC: true``: the runtime binds the node's /dev/shm into the container)::

        hostIPC: true
        containers: [{name: vllm, args: [-tp, "4"]}]

    Failing (``/spec/template/spec/containers/0``)::

        containers: [{name: vllm, args: [-tp, "2"]}]
    """
    for server in model.servers:
        if server.workload.kind in RAY_KINDS or "shm" in server.workload.operator_managed:
            continue  # KubeRay, and the Dynamo operator, mount a memory-backed /dev/shm themselves
        size = server.world_size
        if size is None or size <= 1 or memory_volume_at(server.container, "/dev/shm") is not None:
            continue
        if server.template.spec.get("hostIPC") is True:
            continue  # the node's IPC namespace and its /dev/shm (docs/reference/kubernetes.md)
        yield Problem(
            server.resource,
            server.container.path,
            f"container {server.container.name!r} runs vLLM on {size} GPUs but has no "
            "emptyDir medium Memory volume at /dev/shm: NCCL fails in the 64 MB default",
        )
