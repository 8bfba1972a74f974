"""gpu-parallelism: vLLM's parallel size must equal the GPUs the pod gets.

One vLLM instance uses tensor-parallel × pipeline-parallel × local data-parallel GPUs
(``--tensor-parallel-size``/``-tp``, ``--pipeline-parallel-size``/``-pp``, default 1;
``--data-parallel-size``/``-dp``, or ``--data-parallel-size-local`` when set:
docs/reference/vllm-0.33.md §2.2 "Parallelism").  With fewer GPUs than that the engine
fails at startup; with more, the extra GPUs sit idle while the quota pays for them.  The
settings are read from the args and from the ``--config`` file (docs/reference/vllm-0.33.md §2.1).
"""

from __future__ import annotations

from llmfleet.findings import Severity
from llmfleet.lint.registry import Problem, rule
from llmfleet.lint.rules._common import container_gpus, gpu_path, vllm_workloads


def world_size(settings) -> int:
    tp = settings.int_value("tensor-parallel-size", 1) or 1
    pp = settings.int_value("pipeline-parallel-size", 1) or 1
    dp_local = settings.int_value("data-parallel-size-local")
    dp = dp_local if dp_local else (settings.int_value("data-parallel-size", 1) or 1)
    return tp * pp * dp


@rule(id="gpu-parallelism", severity=Severity.ERROR,
      description="tensor-parallel × pipeline-parallel (× data-parallel) size differs from the "
                  "GPUs the vLLM container requests",
      remediation="Make tensor-parallel-size × pipeline-parallel-size equal to the container's "
                  "nvidia.com/gpu request (the GPU component and serve.yaml must agree).",
      category="gpu")
def check(ctx):
    """Passing::

        args: [--tensor-parallel-size, "4"]
        resources: {limits: {nvidia.com/gpu: 4}, requests: {nvidia.com/gpu: 4}}

    Failing (``/spec/template/spec/containers/0/args/1``, or the ConfigMap's
    ``/data/serve.yaml`` when ``tensor-parallel-size`` is set there)::

        args: [--tensor-parallel-size, "4"]
        resources: {limits: {nvidia.com/gpu: 2}, requests: {nvidia.com/gpu: 2}}
    """
    for workload, settings in vllm_workloads(ctx):
        gpus = container_gpus(settings.container)
        size = world_size(settings)
        if gpus == 0 and size == 1:
            continue
        if gpus == size:
            continue
        where = (settings.get("tensor-parallel-size") or settings.get("pipeline-parallel-size")
                 or settings.get("data-parallel-size-local") or settings.get("data-parallel-size"))
        if where is not None:
            resource, path = where.resource, where.path
            origin = f" (set by {where.where})"
        else:
            resource, path, origin = workload.resource, gpu_path(settings.container), " (defaults)"
        yield Problem(resource, path,
                      f"container {settings.container.name!r} of {workload.resource.ref} runs vLLM "
                      f"with a parallel size of {size}{origin} but requests {gpus} "
                      "nvidia.com/gpu")
