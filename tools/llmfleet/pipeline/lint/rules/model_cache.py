"""model-cache: a vLLM pod should keep downloaded weights on a volume that outlives it.

vLLM downloads the model through the Hugging Face hub library into its cache:
``--download-dir`` when set, else ``HF_HUB_CACHE``, else ``$HF_HOME/hub``, else
``$XDG_CACHE_HOME/huggingface/hub``, else ``$HOME/.cache/huggingface/hub`` (huggingface_hub
constants; docs/reference/vllm.md §5.12).  On the container's writable layer or an
``emptyDir`` every new or rescheduled pod downloads tens to hundreds of GiB again before it
can serve: slow scale-out, and a hub outage or rate limit stops it.  A PersistentVolumeClaim,
a hostPath or another persistent volume keeps it.  A model read from a local path (a volume,
KServe's ``/mnt/models``) or an object store is not a Hugging Face download and is skipped.
So is a small model (under ``small-model-gib`` of weights, 2 GiB by default: Qwen3-0.6B,
SmolLM2-135M, gemma-3-1b), whose download takes seconds; the size comes from the catalog or
the model's name (:mod:`llmfleet.model.vllm.params`).  SGLang and TGI downloading a Hub model,
and Ollama's pulled models, are judged the same way against their images' cache folders.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmfleet.model.pods import mounted_volume
from llmfleet.model.ray import serve_models
from llmfleet.model.servers import other_servers
from llmfleet.model.vllm.params import estimate
from llmfleet.model.vllm.server import VllmServer
from llmfleet.model.vllm.startup import GIB, bytes_per_parameter
from llmfleet.pipeline.lint.api import Option, Options, OverlayModel, Problem, Severity, rule

#: The HOME of the Ray images (rayproject/ray): where a Ray worker's Hugging Face cache is.
RAY_HOME = "/home/ray"
PERSISTENT = (
    "persistentVolumeClaim",
    "hostPath",
    "nfs",
    "csi",
    "cephfs",
    "glusterfs",
    "iscsi",
    "azureFile",
    "image",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "ephemeral",  # a generic ephemeral volume: a PVC of the pod's own, kept across container restarts
)
DEFAULT_HOME = "/root"


def hub_cache(server: VllmServer) -> tuple[str | None, str]:
    """(the folder vLLM downloads into, how it was found); None when it cannot be told."""
    download = server.get("download-dir")
    if download is not None:
        return (str(server.value("download-dir")) if download.resolved else None), "--download-dir"
    env = server.environment

    def var(name: str) -> str | None | bool:
        found = env.get(name)
        if found is None:
            return False  # not set
        return found.value  # None: set to something the input does not hold

    for name, suffix in (
        ("HF_HUB_CACHE", ""),
        ("HUGGINGFACE_HUB_CACHE", ""),
        ("HF_HOME", "/hub"),
        ("XDG_CACHE_HOME", "/huggingface/hub"),
        ("HOME", "/.cache/huggingface/hub"),
    ):
        value = var(name)
        if value is False:
            continue
        if value is None or not isinstance(value, str):
            return None, name
        return value.rstrip("/") + suffix, name
    return DEFAULT_HOME + "/.cache/huggingface/hub", "the image's HOME (/root)"


def is_hub_id(model_id: str) -> bool:
    return bool(model_id) and not model_id.startswith(
        ("/", "./", "s3://", "gs://", "gcs://", "pvc://", "oci://", "hf://", "http://", "https://")
    )


def _kind(volume: dict[str, Any] | None) -> str:
    if volume is None:
        return "the container's writable layer"
    for key in volume:
        if key != "name":
            return key
    return "an unknown volume"


@rule(
    id="model-cache",
    severity=Severity.WARNING,
    description="An LLM server pod (vLLM, SGLang, TGI, Ollama) downloads the model into a cache "
    "that does not survive the pod (no volume, or an emptyDir)",
    remediation="Mount a PersistentVolumeClaim (ReadWriteMany for several replicas) at HF_HOME "
    "(components/model-cache does this), or serve the model from a volume path.",
    rationale="Every new or rescheduled replica otherwise downloads the weights again before "
    "it serves: minutes to hours of cold start and a dependency on the hub at every "
    "scale-out (docs/reference/vllm.md §5.9, §5.12).",
    category="vllm",
    options=[
        Option(
            "small-model-gib",
            float,
            2.0,
            "Weights (GiB) under which a re-download is cheap enough not to report.",
            minimum=0,
        )
    ],
)
def check(model: OverlayModel, options: Options) -> Iterator[Problem]:
    """Passing::

        env: [{name: HF_HOME, value: /var/cache/huggingface}]
        volumeMounts: [{name: model-cache, mountPath: /var/cache/huggingface}]
        volumes: [{name: model-cache, persistentVolumeClaim: {claimName: cache}}]

    Failing (``/spec/template/spec/containers/0``)::

        containers: [{name: vllm, image: vllm/vllm-openai:v0.33.0, args: [meta-llama/Llama-3.1-8B-Instruct]}]
    """
    yield from _ray_serve(model)
    yield from _other_servers(model, options["small-model-gib"])
    for server in model.servers:
        model_id = server.model_id
        if not is_hub_id(model_id):
            continue
        size = estimate(model_id)
        if size is not None and size.total_b is not None:
            gib = size.total_b * 1e9 * bytes_per_parameter(model_id, server.value("quantization")) / GIB
            if gib < options["small-model-gib"]:
                continue
        folder, source = hub_cache(server)
        if folder is None:
            continue
        volume = mounted_volume(server.container, folder)
        kind = _kind(volume)
        if kind in PERSISTENT:
            continue
        yield Problem(
            server.resource,
            server.container.path,
            f"container {server.container.name!r} downloads {model_id} into {folder} "
            f"({source}), which is on {kind}: every new pod downloads the weights again; "
            "mount a persistent volume there",
        )


#: Where other servers' images keep what they download, and the env vars that move it (with
#: the suffix each adds): TGI's image sets its Hugging Face cache to /data; SGLang uses the Hugging
#: Face library's default under /root; Ollama keeps pulled models in $HOME/.ollama/models unless
#: OLLAMA_MODELS says otherwise (docs/reference/servers.md "Model caches").
HF_ENV = (("HF_HUB_CACHE", ""), ("HUGGINGFACE_HUB_CACHE", ""), ("HF_HOME", "/hub"))
OTHER_CACHES: dict[str, tuple[str, tuple[tuple[str, str], ...], bool]] = {
    # engine: (default folder, env overrides, judged without a model id)
    "tgi": ("/data", HF_ENV, False),
    "sglang": (
        "/root/.cache/huggingface/hub",
        (*HF_ENV, ("XDG_CACHE_HOME", "/huggingface/hub"), ("HOME", "/.cache/huggingface/hub")),
        False,
    ),
    "ollama": ("/root/.ollama/models", (("OLLAMA_MODELS", ""), ("HOME", "/.ollama/models")), True),
}


def _other_servers(model: OverlayModel, small_gib: float) -> Iterator[Problem]:
    """SGLang and TGI downloading a Hub model, Ollama pulling models, into a folder on no
    persistent volume."""
    for server in other_servers(model):
        known = OTHER_CACHES.get(server.engine.id)
        if known is None or not server.container.workload.runs_pods:
            continue
        default, overrides, always = known
        model_id = server.model_id
        if not always:
            if not is_hub_id(model_id) or "/" not in model_id:
                continue
            size = estimate(model_id)
            if size is not None and size.total_b is not None:
                if size.total_b * 1e9 * bytes_per_parameter(model_id) / GIB < small_gib:
                    continue
        folder, source = default, f"the {server.engine.title} image's default"
        for name, suffix in overrides:
            hit = server.container.env_var(name)
            if hit is None:
                continue
            value = hit[1].get("value")
            if not isinstance(value, str) or not value or "$" in value:
                folder = ""
                break
            folder, source = value.rstrip("/") + suffix, f"env {name}"
            break
        if not folder:
            continue  # set from a reference: the folder cannot be told
        kind = _kind(mounted_volume(server.container, folder))
        if kind in PERSISTENT:
            continue
        what = f"downloads {model_id}" if model_id else "keeps the models it pulls"
        yield Problem(
            server.resource,
            server.container.path,
            f"container {server.container.name!r} ({server.engine.title}) {what} in {folder} "
            f"({source}), which is on {kind}: every new or restarted pod fetches the weights "
            "again; mount a persistent volume there",
        )


def _ray_serve(model: OverlayModel) -> Iterator[Problem]:
    """Ray Serve LLM apps: vLLM downloads into the Hugging Face cache of the GPU workers."""
    for workload in model.workloads:
        if workload.kind != "RayService":
            continue
        sources = [m for m in serve_models(workload.resource) if is_hub_id(m)]
        if not sources:
            continue
        for template in workload.templates:
            if not model.pod_accelerators(template):
                continue
            for container in template.main_containers:
                env = {e.get("name"): e.get("value") for e in container.env}
                folder = (
                    env.get("HF_HUB_CACHE")
                    or (env.get("HF_HOME") and f"{env['HF_HOME']}/hub")
                    or f"{env.get('HOME') or RAY_HOME}/.cache/huggingface/hub"
                )
                kind = _kind(mounted_volume(container, str(folder)))
                if kind in PERSISTENT:
                    continue
                yield Problem(
                    workload.resource,
                    template.spec_path,
                    f"the Ray workers of {template.ref} download {', '.join(sources)} into "
                    f"{folder}, which is on {kind}: every new or restarted worker downloads "
                    "the weights again; mount a persistent volume at the Hugging Face cache",
                )
                break
