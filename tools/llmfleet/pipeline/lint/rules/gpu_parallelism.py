"""gpu-parallelism: vLLM's parallel sizes must match the accelerators it is given (and
SGLang's ``--tp-size`` × ``--pp-size`` per ``--nnodes`` pod, TGI's ``--num-shard``/``NUM_SHARD``).

More workers than accelerators is an error (vLLM cannot place them and exits at startup); fewer
is a warning (it serves, and the other accelerators stay idle).

One pod: tensor × pipeline × data parallel (the local data-parallel size when set) must equal
the accelerators the vLLM container requests.  A server whose engine spans several pods (a
LeaderWorkerSet group, a Ray cluster, a KServe multi-node predictor) must have tensor ×
pipeline parallel equal to GPUs per pod × pods of the group.  Settings that depend on a value
the input does not hold (``$(TP)`` from a Secret) are not judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.model.accelerators import whole
from llmfleet.model.servers import other_servers
from llmfleet.model.vllm.server import RAY_KINDS, VllmServer
from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule


def container_accelerators(model: OverlayModel, server: VllmServer) -> int:
    names = model.pod_accelerators(server.template)
    return sum(whole(server.container.request(name)) for name in names)


def group_accelerators(model: OverlayModel, server: VllmServer) -> tuple[int, int, int]:
    """(accelerators of the whole group or Ray cluster, pods, accelerators per pod of the
    server's own pod) for a server whose workload spans several pods."""
    total = pods = 0
    for template in server.workload.templates:
        units = model.pod_gpus(template)
        total += units * template.pods_max
        pods += template.pods_max
    return total, pods, model.pod_gpus(server.template)


def spans_pods(server: VllmServer) -> bool:
    """The server's engine spans several pods: a LeaderWorkerSet group or a KServe multi-node
    predictor (a Ray cluster places vLLM's workers itself: not judged here)."""
    return sum(t.pods_max for t in server.workload.templates) > 1 and server.workload.kind in (
        "LeaderWorkerSet",
        "InferenceService",
        "ServingRuntime",
        "ClusterServingRuntime",
    )


@rule(
    id="gpu-parallelism",
    severity=Severity.ERROR,
    description="tensor-parallel × pipeline-parallel (× data-parallel) size differs from the "
    "accelerators the vLLM server gets (its container, or its multi-node group)",
    remediation="Make tensor-parallel-size × pipeline-parallel-size equal to the container's "
    "GPU request (one pod), or to GPUs per pod × pods of the group (LeaderWorkerSet, "
    "Ray); the GPU component and serve.yaml must agree.",
    rationale="vLLM starts one worker per GPU of its world size (tensor × pipeline × data "
    "parallel). Fewer GPUs than that and it fails at start-up; more and the extra GPUs "
    "are paid for and idle (docs/reference/vllm.md §2.2).",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        args: [--tensor-parallel-size, "4"]
        resources: {limits: {nvidia.com/gpu: 4}}

    Failing (``/spec/template/spec/containers/0/args/0``, or the ConfigMap's
    ``/data/serve.yaml`` when ``tensor-parallel-size`` is set there)::

        args: [--tensor-parallel-size, "4"]
        resources: {limits: {nvidia.com/gpu: 2}}
    """
    for server in model.api_servers:
        if server.workload.kind in RAY_KINDS:
            continue  # Ray schedules vLLM's workers on the cluster's GPUs itself
        size = server.world_size
        if size is None:
            continue  # a parallel size depends on a value the input does not hold
        where = (
            server.get("tensor-parallel-size")
            or server.get("pipeline-parallel-size")
            or server.get("data-parallel-size-local")
            or server.get("data-parallel-size")
        )
        if where is not None:
            resource, path, origin = where.resource, where.path, f" (set by {where.where})"
        else:
            resource, path, origin = server.resource, server.container.path, " (defaults)"
        if spans_pods(server):
            total, pods, per_pod = group_accelerators(model, server)
            if total != size:
                yield Problem(
                    resource,
                    path,
                    f"vLLM of {server.workload.resource.ref} runs with a parallel size of "
                    f"{size}{origin} across a group of {pods} pods holding {total} "
                    f"accelerators ({per_pod} in the server's pod): tensor × pipeline "
                    "parallel must equal GPUs per pod × pods" + _effect(size, total),
                    _severity(size, total),
                )
            continue
        gpus = container_accelerators(model, server)
        if gpus == 0 and size == 1 or gpus == size:
            continue
        yield Problem(
            resource,
            path,
            f"container {server.container.name!r} of {server.template.ref} runs vLLM "
            f"with a parallel size of {size}{origin} but requests {gpus} accelerator(s)"
            + _effect(size, gpus),
            _severity(size, gpus),
        )
    yield from _other_servers(model)


def _other_servers(model: OverlayModel) -> Iterator[Problem]:
    """SGLang (``--tp-size`` × ``--pp-size`` over ``--nnodes`` pods) and TGI (``--num-shard`` /
    ``NUM_SHARD``): the GPUs one pod's share of the server uses must be the GPUs it requests."""
    for server in other_servers(model):
        found = server.parallel()
        if found is None:
            continue
        size, nodes, where = found
        if size % nodes:
            continue  # not an even split: not judged
        per_pod = size // nodes
        container = server.container
        names = model.pod_accelerators(container.template)
        gpus = sum(whole(container.request(name)) for name in names)
        if gpus == 0 or gpus == per_pod:
            continue  # no accelerator at all is gpu-missing's question
        spread = f" over {nodes} pods" if nodes > 1 else ""
        yield Problem(
            container.resource,
            container.path,
            f"container {container.name!r} runs {server.engine.title} on {size} GPUs{spread} "
            f"({where}) but its pod requests {gpus} accelerator(s)" + _effect(per_pod, gpus),
            _severity(per_pod, gpus),
        )


def _severity(size: int, gpus: int) -> Severity | None:
    """More workers than accelerators fails at startup (an error); fewer leaves the others
    idle (a warning: it serves, at a cost)."""
    return None if size > gpus else Severity.WARNING


def _effect(size: int, gpus: int) -> str:
    if size > gpus:
        return ": the server fails at startup, it cannot place its workers"
    return f": {gpus - size} accelerator(s) stay idle"
