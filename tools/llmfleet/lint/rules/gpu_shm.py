"""gpu-shm: multi-GPU vLLM needs a memory-backed /dev/shm.

With tensor or pipeline parallelism (world size > 1) the workers talk through NCCL, which
allocates shared-memory segments in /dev/shm.  Kubernetes gives a container a 64 MB /dev/shm,
and startup fails with "Error while creating shared memory segment /dev/shm/nccl-…".  The fix
is an ``emptyDir: {medium: Memory, sizeLimit: …}`` volume mounted at ``/dev/shm``; vLLM's
k8s doc uses 2Gi (docs/reference/vllm-0.33.md §5.1; vllm#1710, #7466).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.context import dig
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import vllm_workloads
from llmfleet.lint.rules.gpu_parallelism import world_size


def has_memory_shm(container, workload) -> bool:
    for mount in container.data.get("volumeMounts") or []:
        if not isinstance(mount, dict) or str(mount.get("mountPath", "")).rstrip("/") != "/dev/shm":
            continue
        found = workload.volume(str(mount.get("name") or ""))
        if found and dig(found[1], "emptyDir", "medium") == "Memory":
            return True
    return False


@rule(id="gpu-shm", severity=Severity.ERROR,
      description="vLLM with a parallel size above 1 has no memory-backed /dev/shm",
      remediation="Add a volume {name: shm, emptyDir: {medium: Memory, sizeLimit: 2Gi}} and mount "
                  "it at /dev/shm in the vLLM container.",
      category="gpu")
def check(ctx):
    """Passing::

        containers: [{name: vllm, args: [-tp, "2"], volumeMounts: [{name: shm, mountPath: /dev/shm}]}]
        volumes: [{name: shm, emptyDir: {medium: Memory, sizeLimit: 2Gi}}]

    Failing (``/spec/template/spec/containers/0``)::

        containers: [{name: vllm, args: [-tp, "2"]}]
    """
    for workload, settings in vllm_workloads(ctx):
        size = world_size(settings)
        if size <= 1 or has_memory_shm(settings.container, workload):
            continue
        yield Problem(workload.resource, settings.container.path,
                      f"container {settings.container.name!r} runs vLLM on {size} GPUs but has no "
                      "emptyDir medium Memory volume at /dev/shm: NCCL fails in the 64 MB default")
