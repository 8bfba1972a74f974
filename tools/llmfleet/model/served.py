"""Every LLM server container of a model, vLLM or another engine, in the one shape the probe
and shutdown rules need."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from llmfleet.model.k8s import Resource
from llmfleet.model.load_time import LoadTime, expected_load
from llmfleet.model.overlay import OverlayModel
from llmfleet.model.servers import other_servers
from llmfleet.model.workloads import Container, Workload


@dataclass(frozen=True)
class Served:
    resource: Resource
    container: Container
    engine: str
    listens_after_load: bool
    platform_probes: bool  # a template whose pods' probes the platform sets (KServe, OME runtimes)
    load: LoadTime
    #: The port accepts TCP connections while the model loads (HTTP answers 503): a tcpSocket
    #: probe passes during the load (llama.cpp).
    tcp_during_load: bool = False


PERSISTENT = ("persistentVolumeClaim", "hostPath", "nfs", "csi", "cephfs", "glusterfs", "ephemeral")


def downloads_every_start(container: Container, model_id: str) -> bool:
    """A Hub model id and no persistent volume mounted into the container to keep it."""
    if not model_id or model_id.startswith(("/", ".", "$", "s3:", "gs:", "pvc:")) or "/" not in model_id:
        return False
    mounted = {m.get("name") for m in container.volume_mounts}
    return not any(
        v.get("name") in mounted and any(k in v for k in PERSISTENT) for v in container.template.volumes
    )


def platform_owns_probes(workload: Workload) -> bool:
    """A runtime template (the serving platform sets its pods' probes and lifecycle), or an
    operator that injects probes and routes requests itself (Dynamo)."""
    return not workload.runs_pods or "probes" in workload.operator_managed


def served(model: OverlayModel) -> Iterator[Served]:
    for server in model.api_servers:
        names = [server.model_id, *server.served_model_names]
        downloads = downloads_every_start(server.container, server.model_id)
        load = expected_load(names, server.value("quantization"), server.nodes or 1, downloads)
        yield Served(
            server.resource, server.container, "vLLM", True, platform_owns_probes(server.workload), load
        )
    for other in other_servers(model):
        load = expected_load(
            [other.model_id, other.flag("--served-model-name") or ""],
            other.flag("--quantization"),
            downloads=downloads_every_start(other.container, other.model_id),
        )
        yield Served(
            other.container.resource,
            other.container,
            other.engine.title,
            other.engine.listens_after_load,
            platform_owns_probes(other.container.workload),
            load,
            other.engine.tcp_during_load,
        )
