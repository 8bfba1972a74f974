"""gpu-missing: a GPU build of vLLM needs an accelerator.

A container that runs the vLLM server from a CUDA, ROCm or TPU build but requests no
accelerator (``nvidia.com/gpu``, ``amd.com/gpu``, ``google.com/tpu``, ...) gets none: the
device plugin only exposes devices to containers that request them, so vLLM fails at
start-up ("Failed to infer device type", no CUDA device).  CPU builds are not reported: images
named for the CPU, CPU builds published under other names (OPEA's ``opea/vllm``, built with
``VLLM_TARGET_DEVICE=cpu``: opea-project/GenAIComps ``comps/third_parties/vllm``), ``--device
cpu``, or the CPU backend's own settings in env (``VLLM_CPU_KVCACHE_SPACE``,
``VLLM_CPU_OMP_THREADS_BIND``: vllm ``vllm/envs.py``, docs "CPU installation").
"""

from __future__ import annotations

from collections.abc import Iterator

from llmfleet.pipeline.lint.api import Options, OverlayModel, Problem, Severity, rule

#: CPU builds of vLLM whose names do not say so.
CPU_REPOSITORIES = ("opea/vllm",)
#: Settings only the CPU backend reads.
CPU_ENV = ("VLLM_CPU_KVCACHE_SPACE", "VLLM_CPU_OMP_THREADS_BIND")


@rule(
    id="gpu-missing",
    severity=Severity.ERROR,
    description="A container runs a GPU (CUDA, ROCm, TPU) build of vLLM but requests no accelerator",
    remediation="Request the accelerator in resources.limits (nvidia.com/gpu: N, amd.com/gpu: N "
    "or google.com/tpu: N, equal to the parallel size), or use a CPU build of vLLM.",
    rationale="Kubernetes gives a container the GPUs it requests and no others; without a "
    "request the device plugin exposes no device and vLLM cannot start "
    "(docs/reference/kubernetes.md, Accelerators).",
    category="gpu",
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        image: vllm/vllm-openai:v0.33.0
        resources: {limits: {nvidia.com/gpu: 1}}

    Passing (a CPU build)::

        image: public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.10.1

    Failing (``/spec/template/spec/containers/0/resources``)::

        image: vllm/vllm-openai:v0.33.0
        resources: {limits: {memory: 32Gi}}
    """
    for server in model.servers:
        if server.image.build == "cpu" or str(server.value("device") or "").lower() == "cpu":
            continue
        if server.image.repository.lower() in CPU_REPOSITORIES or any(
            server.container.env_var(name) for name in CPU_ENV
        ):
            continue
        if not server.workload.runs_pods:
            continue  # a ServingRuntime's resources are defaults its InferenceServices override
        if model.pod_accelerators(server.template):
            continue
        container = server.container
        yield Problem(
            server.resource,
            f"{container.path}/resources" if "resources" in container.data else container.path,
            f"container {container.name!r} runs a {server.image.build.upper()} build of vLLM "
            f"({container.image or 'no image'}) but requests no accelerator: it gets no GPU "
            "and vLLM cannot start",
        )
