"""The model of one input (an overlay's rendered output, or a set of files) and of the fleet.

Built once per input; every feature and rule reads the same facts from it: workloads and
their pod templates, vLLM servers and their settings, autoscalers with their targets
resolved, PromQL parsed once, accelerators per pod and per replica, the accelerator class
from node selection, and the GPUs and price at minimum and maximum scale.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from llmfleet.catalog import entries as catalog
from llmfleet.model.accelerators import NVIDIA_GPU, NodeSelection, is_accelerator, node_selection, whole
from llmfleet.model.k8s import (
    Resource,
    as_dict,
    dig,
    escape_pointer_token,
    same_generated_name,
    selector_matches,
    to_int,
)
from llmfleet.model.monitoring import Monitor, QueryRef, RuleItem, dashboard_queries, rule_items
from llmfleet.model.scaling import Autoscaler, ReplicaRange, autoscalers, replica_range
from llmfleet.model.vllm.command_line import read_server
from llmfleet.model.vllm.server import VllmServer
from llmfleet.model.workload_extract import extract
from llmfleet.model.workloads import Container, PodTemplate, Workload


@dataclass(frozen=True)
class ClusterSettings:
    """What the rules assume about the cluster (``cluster:`` in llmfleet.yaml)."""

    gpu_taint_key: str = NVIDIA_GPU  # the NVIDIA device plugin's taint key and resource
    #: Node labels whose value names the GPU class, besides the well-known ones
    #: (llmfleet/data/accelerators.yaml).
    gpu_label_keys: tuple[str, ...] = ("llmfleet.io/gpu-class",)
    #: The cluster adds the GPU toleration to pods that request GPUs itself (GKE, or the
    #: ExtendedResourceToleration admission plugin).
    adds_gpu_tolerations: bool = False
    #: The GPU node shapes the cluster has (names from llmfleet/data/node_shapes.yaml, or
    #: shapes written out); empty: every shape the catalog knows.
    node_shapes: tuple[Any, ...] = ()
    #: The cluster's Kubernetes version (x.y.z; cluster.kubernetes-version, else
    #: validate.kubernetes-version): the HPA defaults the simulation follows ("": the newest).
    kubernetes_version: str = ""
    #: The cloud the cluster runs on (gke, eks or aks; "" = not said): bounds new-model's GPU
    #: choice and the instance prices of `cost` (llmfleet.catalog.pricing).
    cloud: str = ""


@dataclass(frozen=True)
class AcceleratorUse:
    """The accelerators one workload holds, per replica and at its minimum and maximum scale.
    The one definition of "GPUs at maximum scale"."""

    overlay: str
    workload: Workload
    resource_name: str  # e.g. nvidia.com/gpu
    per_replica_min: int
    per_replica_max: int
    replicas: ReplicaRange
    classes: tuple[str, ...]  # accelerator classes its pods may land on
    per_pod: tuple[tuple[str, int, int], ...]  # (role, units per pod, pods per replica at max)

    @property
    def at_min(self) -> int | None:
        if self.replicas.minimum is None:
            return None
        return self.per_replica_min * self.replicas.minimum

    @property
    def at_max(self) -> int | None:
        if self.replicas.maximum is None:
            return None
        return self.per_replica_max * self.replicas.maximum

    @property
    def gpu_class(self) -> str | None:
        return self.classes[0] if len(self.classes) == 1 else None

    @property
    def gpu(self) -> catalog.GpuClass | None:
        return catalog.find_gpu(self.gpu_class) if self.gpu_class else None

    def price_per_hour(self, at: str = "max") -> float | None:
        gpu = self.gpu
        count = self.at_max if at == "max" else self.at_min
        if gpu is None or count is None:
            return None
        return count * gpu.price_per_hour


class OverlayModel:
    """Everything known about one input."""

    def __init__(
        self,
        name: str,
        resources: list[Resource],
        cluster: ClusterSettings | None = None,
        *,
        is_overlay: bool = False,
    ):
        self.name = name
        self.resources = resources
        self.cluster = cluster or ClusterSettings()
        self.is_overlay = is_overlay
        #: Results of external tools the pipeline ran on this input, by tool name (promtool:
        #: rule-groups key → (ok, output)); rules with a ``tool`` read them.
        self.tool_results: dict[str, dict[str, Any]] = {}
        self._by_kind: dict[str, list[Resource]] = {}
        for res in resources:
            self._by_kind.setdefault(res.kind, []).append(res)

    # -- objects -----------------------------------------------------------------------------
    def of_kind(self, *kinds: str) -> list[Resource]:
        out: list[Resource] = []
        for kind in kinds:
            out.extend(self._by_kind.get(kind, []))
        return out

    def get(self, kind: str, name: str, namespace: str | None = None) -> Resource | None:
        for res in self._by_kind.get(kind, []):
            if res.name == name and (namespace is None or res.namespace == namespace):
                return res
        return None

    def find_configmap(self, name: str, namespace: str) -> Resource | None:
        """The ConfigMap ``name`` in ``namespace``, matched up to a kustomize hash suffix (so
        unrendered files and rendered output both resolve)."""
        candidates = [r for r in self._by_kind.get("ConfigMap", []) if r.namespace == namespace]
        exact = next((r for r in candidates if r.name == name), None)
        if exact is not None:
            return exact
        return next((r for r in candidates if same_generated_name(r.name, name)), None)

    # -- workloads ---------------------------------------------------------------------------
    @cached_property
    def workloads(self) -> list[Workload]:
        found = []
        for res in self.resources:
            workload = extract(res)
            if workload is not None:
                found.append(workload)
        return found

    @property
    def templates(self) -> list[PodTemplate]:
        return [t for w in self.workloads for t in w.templates]

    def containers(self) -> Iterator[Container]:
        for template in self.templates:
            yield from template.containers

    def workload_of(self, resource: Resource) -> Workload | None:
        return next((w for w in self.workloads if w.resource is resource), None)

    def pods_selected(self, selector: Any, namespace: str | None) -> list[PodTemplate]:
        """Pod templates whose labels match ``selector`` (in ``namespace`` if given).  An
        object without a namespace lands in the one it is applied to, so it matches any."""
        return [
            t
            for t in self.templates
            if (not namespace or not t.namespace or t.namespace == namespace)
            and selector_matches(selector, t.labels)
        ]

    def service_templates(self, service: Resource) -> list[PodTemplate]:
        selector = dig(service.data, "spec", "selector")
        if not isinstance(selector, dict) or not selector:
            return []
        return self.pods_selected({"matchLabels": selector}, service.namespace)

    # -- vLLM --------------------------------------------------------------------------------
    @cached_property
    def servers(self) -> list[VllmServer]:
        """Every container that runs the vLLM server."""
        found = []
        for template in self.templates:
            for container in template.containers:
                server = read_server(container, self.find_configmap)
                if server is not None:
                    found.append(server)
        return found

    @property
    def api_servers(self) -> list[VllmServer]:
        """The servers that answer the OpenAI API (not ``--headless`` multi-node workers)."""
        return [s for s in self.servers if not s.headless]

    def servers_in(self, workload: Workload) -> list[VllmServer]:
        return [s for s in self.servers if s.workload is workload]

    def server_of(self, container: Container) -> VllmServer | None:
        return next((s for s in self.servers if s.container is container), None)

    # -- autoscaling and monitoring -----------------------------------------------------------
    @cached_property
    def autoscalers(self) -> list[Autoscaler]:
        return autoscalers(self.resources, self.workloads)

    @property
    def scaled_objects(self) -> list[Autoscaler]:
        return [a for a in self.autoscalers if a.is_keda]

    def replicas(self, workload: Workload) -> ReplicaRange:
        return replica_range(workload, self.autoscalers)

    @cached_property
    def rule_items(self) -> list[RuleItem]:
        return [item for res in self.of_kind("PrometheusRule") for item in rule_items(res)]

    @cached_property
    def queries(self) -> list[QueryRef]:
        """Every ScaledObject prometheus query and PrometheusRule expr, parsed once."""
        found = []
        for scaler in self.scaled_objects:
            for trigger in scaler.triggers:
                query = trigger.query
                if query is not None:
                    found.append(QueryRef(scaler.resource, f"{trigger.path}/metadata/query", query, "scaler"))
        for item in self.rule_items:
            expr = item.expr
            if expr is not None:
                found.append(QueryRef(item.resource, f"{item.path}/expr", expr, "rule"))
        return found

    @cached_property
    def dashboard_queries(self) -> list[QueryRef]:
        return [q for res in self.of_kind("ConfigMap") for q in dashboard_queries(res)]

    @cached_property
    def monitors(self) -> list[Monitor]:
        return [
            Monitor(r)
            for r in self.of_kind("PodMonitor", "ServiceMonitor")
            if r.group == "monitoring.coreos.com"
        ]

    # -- accelerators -------------------------------------------------------------------------
    def node_selection(self, template: PodTemplate) -> NodeSelection:
        cache: dict[int, NodeSelection] = self.__dict__.setdefault("_selections", {})
        key = id(template)
        if key not in cache:
            cache[key] = node_selection(template.spec, self.cluster.gpu_label_keys)
        return cache[key]

    def pod_accelerators(self, template: PodTemplate) -> dict[str, int]:
        """Accelerator resources one pod holds (Kubernetes' effective request)."""
        names: dict[str, None] = {}
        for container in template.containers:
            for section in ("requests", "limits"):
                for name in as_dict(dig(container.data, "resources", section)):
                    if is_accelerator(str(name)):
                        names[str(name)] = None
        for section in ("requests", "limits"):
            for name in as_dict(dig(template.spec, "resources", section)):
                if is_accelerator(str(name)):
                    names[str(name)] = None
        result = {}
        for name in names:
            units = whole(template.effective_request(name))
            if units > 0:
                result[name] = units
        return result

    def pod_gpus(self, template: PodTemplate) -> int:
        """Accelerator units one pod holds (all accelerator resources together)."""
        return sum(self.pod_accelerators(template).values())

    @cached_property
    def accelerator_uses(self) -> list[AcceleratorUse]:
        uses = []
        for workload in self.workloads:
            if not workload.runs_pods:
                continue
            per_resource: dict[str, list[tuple[PodTemplate, int]]] = {}
            for template in workload.templates:
                for name, units in self.pod_accelerators(template).items():
                    per_resource.setdefault(name, []).append((template, units))
            if not per_resource:
                continue
            replicas = self.replicas(workload)
            for name, held in per_resource.items():
                classes: list[str] = []
                for template, _ in held:
                    classes += self.node_selection(template).classes
                uses.append(
                    AcceleratorUse(
                        self.name,
                        workload,
                        name,
                        per_replica_min=sum(units * t.pods_min for t, units in held),
                        per_replica_max=sum(units * t.pods_max for t, units in held),
                        replicas=replicas,
                        classes=tuple(dict.fromkeys(classes)),
                        per_pod=tuple((t.role, units, t.pods_max) for t, units in held),
                    )
                )
        return uses

    def gpus(self, at: str = "max") -> int | None:
        """Accelerators of the whole input at minimum or maximum scale; None when a workload's
        replica count cannot be told."""
        total = 0
        for use in self.accelerator_uses:
            count = use.at_max if at == "max" else use.at_min
            if count is None:
                return None
            total += count
        return total

    def price_per_hour(self, at: str = "max") -> float | None:
        """USD per hour of the accelerators at minimum or maximum scale; None when a class or a
        price is unknown."""
        total = 0.0
        for use in self.accelerator_uses:
            price = use.price_per_hour(at)
            if price is None:
                return None
            total += price
        return total

    # -- served models ------------------------------------------------------------------------
    @property
    def served_models(self) -> list[tuple[str, VllmServer]]:
        return [(name, server) for server in self.api_servers for name in server.served_model_names]


@dataclass(frozen=True)
class QuotaLimit:
    resource: Resource  # the ResourceQuota
    path: str
    accelerator: str  # e.g. nvidia.com/gpu
    hard: int


QUOTA_PREFIXES = ("requests.", "limits.")


def quota_limits(resources: list[Resource]) -> list[QuotaLimit]:
    """Accelerator limits of ResourceQuotas (``requests.<resource>`` or ``limits.<resource>``)."""
    found = []
    for quota in resources:
        if quota.kind != "ResourceQuota":
            continue
        hard = as_dict(dig(quota.data, "spec", "hard"))
        for key, value in hard.items():
            for prefix in QUOTA_PREFIXES:
                name = str(key)[len(prefix) :] if str(key).startswith(prefix) else ""
                if name and is_accelerator(name):
                    number = to_int(value, None)
                    if number is not None:
                        found.append(
                            QuotaLimit(quota, f"/spec/hard/{escape_pointer_token(key)}", name, number)
                        )
    return found


@dataclass
class FleetModel:
    """Every overlay of the repository and the namespace-wide objects (``check``)."""

    overlays: dict[str, OverlayModel]
    platform: OverlayModel
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    #: The committed gateway routes file (path relative to the root, and its text; None when
    #: it does not exist), read by the pipeline for the gateway-routes-stale check.
    routes_file: str = ""
    committed_routes: str | None = None

    def models(self) -> Iterator[OverlayModel]:
        yield from self.overlays.values()
        yield self.platform

    def accelerator_uses(self) -> list[AcceleratorUse]:
        return [use for model in self.overlays.values() for use in model.accelerator_uses]

    def quotas(self) -> list[QuotaLimit]:
        seen: set[tuple[str, str]] = set()
        unique = []
        for model in self.models():
            for res in model.of_kind("ResourceQuota"):
                if (res.namespace, res.name) not in seen:
                    seen.add((res.namespace, res.name))
                    unique.append(res)
        return quota_limits(unique)


GPU_RESOURCE = NVIDIA_GPU
