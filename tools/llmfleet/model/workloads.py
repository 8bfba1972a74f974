"""Pod templates of every workload kind, at their real paths, and their containers with
Kubernetes' effective-request semantics.

A :class:`Workload` is an object that makes pods; it holds one or more :class:`PodTemplate`
(a LeaderWorkerSet has a leader and a worker template, a RayCluster a head and worker
groups) and says how many pods of each template one replica makes, and how many replicas
the object itself asks for (before any autoscaler; :mod:`llmfleet.model.scaling` combines
the two).

Sources: Kubernetes API reference (apps/v1, batch/v1, core/v1), LeaderWorkerSet v1
(``leaderworkerset.x-k8s.io``, ``spec.leaderWorkerTemplate``), KServe v1beta1/v1alpha1
(``serving.kserve.io``), KubeRay v1 (``ray.io``), Argo Rollouts (``argoproj.io``) and
Knative Serving v1 (``serving.knative.dev``); see docs/reference/kubernetes.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from llmfleet.model.k8s import Resource, as_dict, as_list, dig, parse_quantity, pointer, to_int

#: Roles of a pod template inside its workload.
POD, LEADER, WORKER, HEAD, PREDICTOR, RUNTIME = "pod", "leader", "worker", "head", "predictor", "runtime"

CONTAINERS, INIT_CONTAINERS, MODEL = "containers", "initContainers", "model"


@dataclass(eq=False)
class Container:
    """One container of a pod template."""

    template: PodTemplate
    data: dict[str, Any]
    path: str  # JSON pointer of the container in the workload object
    section: str = CONTAINERS  # containers | initContainers | model (KServe predictor)

    def __repr__(self) -> str:
        return f"Container({self.name!r} at {self.path} of {self.template.workload.resource.ref})"

    @property
    def workload(self) -> Workload:
        return self.template.workload

    @property
    def resource(self) -> Resource:
        return self.template.workload.resource

    @property
    def name(self) -> str:
        return str(self.data.get("name", "") or ("kserve-container" if self.section == MODEL else ""))

    @property
    def image(self) -> str:
        return str(self.data.get("image", "") or "")

    @property
    def args(self) -> list[str]:
        return [str(a) for a in as_list(self.data.get("args")) if a is not None]

    @property
    def command(self) -> list[str]:
        return [str(a) for a in as_list(self.data.get("command")) if a is not None]

    @property
    def env(self) -> list[dict[str, Any]]:
        return [e for e in as_list(self.data.get("env")) if isinstance(e, dict)]

    @property
    def env_from(self) -> list[dict[str, Any]]:
        return [e for e in as_list(self.data.get("envFrom")) if isinstance(e, dict)]

    def env_var(self, name: str) -> tuple[int, dict[str, Any]] | None:
        for i, item in enumerate(as_list(self.data.get("env"))):
            if isinstance(item, dict) and item.get("name") == name:
                return i, item
        return None

    @property
    def ports(self) -> list[dict[str, Any]]:
        return [p for p in as_list(self.data.get("ports")) if isinstance(p, dict)]

    @property
    def volume_mounts(self) -> list[dict[str, Any]]:
        return [m for m in as_list(self.data.get("volumeMounts")) if isinstance(m, dict)]

    @property
    def is_sidecar(self) -> bool:
        """An init container with ``restartPolicy: Always`` (a native sidecar, Kubernetes 1.29+)."""
        return self.section == INIT_CONTAINERS and self.data.get("restartPolicy") == "Always"

    @property
    def is_init(self) -> bool:
        """An init container that runs to completion before the app containers start."""
        return self.section == INIT_CONTAINERS and not self.is_sidecar

    def probe(self, kind: str) -> dict[str, Any] | None:
        probe = self.data.get(kind)
        return probe if isinstance(probe, dict) else None

    def resource_value(self, section: str, resource: str) -> Any:
        return dig(self.data, "resources", section, resource)

    def request(self, resource: str) -> Decimal:
        """The container's request of ``resource``: ``requests``, else ``limits`` (Kubernetes
        defaults a missing request to the limit), else 0."""
        for section in ("requests", "limits"):
            value = parse_quantity(self.resource_value(section, resource))
            if value is not None:
                return value
        return Decimal(0)

    def resource_path(self, resource: str) -> str:
        """Pointer of the limit (or request) of ``resource``, else of ``resources``."""
        for section in ("limits", "requests"):
            if self.resource_value(section, resource) is not None:
                return f"{self.path}/resources/{section}/{resource.replace('~', '~0').replace('/', '~1')}"
        return f"{self.path}/resources"


@dataclass(eq=False)
class PodTemplate:
    """A pod template (or an inline pod spec) of a workload."""

    workload: Workload
    role: str
    spec: dict[str, Any]
    spec_path: str
    metadata: dict[str, Any]
    #: Pods of this template per replica of the workload, at its minimum and maximum scale.
    pods_min: int = 1
    pods_max: int = 1
    extra: list[tuple[dict[str, Any], str, str]] = field(default_factory=list)  # (data, path, section)
    #: Claims an operator mounts into these pods by name, outside the pod spec (a Dynamo
    #: service's ``volumeMounts``), with the pointer that names each.
    claim_mounts: list[tuple[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"PodTemplate({self.ref!r})"

    @property
    def resource(self) -> Resource:
        return self.workload.resource

    @property
    def namespace(self) -> str:
        return self.workload.resource.namespace

    @property
    def labels(self) -> dict[str, Any]:
        return as_dict(self.metadata.get("labels"))

    @property
    def annotations(self) -> dict[str, Any]:
        return as_dict(self.metadata.get("annotations"))

    @property
    def ref(self) -> str:
        suffix = "" if self.role == POD else f" ({self.role} template)"
        return self.workload.resource.ref + suffix

    @cached_property
    def containers(self) -> list[Container]:
        """Init containers (sidecars included), then app containers, then inline ones."""
        found: list[Container] = []
        for section in (INIT_CONTAINERS, CONTAINERS):
            for i, data in enumerate(as_list(self.spec.get(section))):
                if isinstance(data, dict):
                    found.append(Container(self, data, f"{self.spec_path}/{section}/{i}", section))
        for data, path, section in self.extra:
            found.append(Container(self, data, path, section))
        return found

    @property
    def app_containers(self) -> list[Container]:
        """Containers that run for the pod's life: app containers and native sidecars."""
        return [c for c in self.containers if not c.is_init]

    @property
    def main_containers(self) -> list[Container]:
        """The pod's own containers (``containers`` and a KServe ``model``), no sidecars."""
        return [c for c in self.containers if c.section != INIT_CONTAINERS]

    def volume(self, name: str) -> tuple[int, dict[str, Any]] | None:
        for i, vol in enumerate(as_list(self.spec.get("volumes"))):
            if isinstance(vol, dict) and vol.get("name") == name:
                return i, vol
        return None

    @property
    def volumes(self) -> list[dict[str, Any]]:
        return [v for v in as_list(self.spec.get("volumes")) if isinstance(v, dict)]

    def effective_request(self, resource: str) -> Decimal:
        """What the scheduler reserves for one pod: Kubernetes' ``PodRequests``
        (k8s.io/component-helpers resource/helpers.go).  App containers add up; native
        sidecars add to them and to every init container started after them; the pod needs
        the larger of that sum and the largest init container; pod-level ``resources``
        (when set) and ``overhead`` are applied as the scheduler does."""
        pod_level = parse_quantity(dig(self.spec, "resources", "requests", resource))
        if pod_level is None:
            pod_level = parse_quantity(dig(self.spec, "resources", "limits", resource))
        total = sum((c.request(resource) for c in self.main_containers), Decimal(0))
        sidecars = Decimal(0)
        init_peak = Decimal(0)
        for container in self.containers:
            if container.section != INIT_CONTAINERS:
                continue
            request = container.request(resource)
            if container.is_sidecar:
                total += request
                sidecars += request
                init_peak = max(init_peak, sidecars)
            else:
                init_peak = max(init_peak, request + sidecars)
        needed = pod_level if pod_level is not None else max(total, init_peak)
        overhead = parse_quantity(dig(self.spec, "overhead", resource)) or Decimal(0)
        return needed + overhead


@dataclass(frozen=True)
class Replicas:
    """Replicas an object asks for itself (before autoscalers): a range when the object
    autoscales on its own (KServe, Knative), None when it cannot be told (DaemonSet)."""

    minimum: int | None
    maximum: int | None
    source: str
    path: str = ""


@dataclass(frozen=True)
class DeclaredClaim:
    """A PersistentVolumeClaim a custom resource declares for its operator to create or use
    (a DynamoGraphDeployment's ``spec.pvcs``)."""

    name: str
    access_modes: tuple[str, ...]
    path: str  # pointer of the access mode (or of the entry) in the object


@dataclass(eq=False)
class Workload:
    """An object that makes pods."""

    resource: Resource
    templates: list[PodTemplate] = field(default_factory=list)
    replicas: Replicas = Replicas(1, 1, "default")
    #: False for objects that only carry a template (PodTemplate, KServe ServingRuntime).
    runs_pods: bool = True
    #: True for objects whose pods run to completion (Job, CronJob).
    batch: bool = False
    #: Pods per group when the replica unit is a group (LeaderWorkerSet size), else 1.
    group_size: int = 1
    #: True when an operator picks the nodes and adds the tolerations (KAITO's Workspace from
    #: its instance type), or the template is instantiated by a platform that does (runtimes).
    platform_scheduling: bool = False
    #: Claims the object declares itself (custom resources whose operator makes the PVCs).
    declared_claims: list[DeclaredClaim] = field(default_factory=list)
    #: What an operator adds to the pods (``probes``, ``shm``, ``routing``: it routes requests
    #: itself, not through Service endpoints); from data/custom_workloads.yaml.
    operator_managed: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"Workload({self.resource.ref!r})"

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def namespace(self) -> str:
        return self.resource.namespace

    @property
    def name(self) -> str:
        return self.resource.name

    def containers(self) -> Iterator[Container]:
        for template in self.templates:
            yield from template.containers

    def template_of(self, role: str) -> PodTemplate | None:
        return next((t for t in self.templates if t.role == role), None)

    def per_replica(self, resource: str, at: str = "max") -> Decimal:
        """Units of ``resource`` that one replica (one group) holds."""
        return sum(
            (
                t.effective_request(resource) * (t.pods_max if at == "max" else t.pods_min)
                for t in self.templates
            ),
            Decimal(0),
        )


# --- extraction -------------------------------------------------------------------------------


def _template(
    workload: Workload,
    keys: tuple[Any, ...],
    role: str,
    pods_min: int = 1,
    pods_max: int | None = None,
    inline: bool = False,
) -> PodTemplate | None:
    """The template at ``keys`` (an object with ``metadata`` and ``spec``), or an inline pod
    spec when ``inline``."""
    node = dig(workload.resource.data, *keys)
    if not isinstance(node, dict):
        return None
    if inline:
        return PodTemplate(
            workload, role, node, pointer(*keys), {}, pods_min, pods_min if pods_max is None else pods_max
        )
    spec = node.get("spec")
    if not isinstance(spec, dict):
        return None
    return PodTemplate(
        workload,
        role,
        spec,
        pointer(*keys, "spec"),
        as_dict(node.get("metadata")),
        pods_min,
        pods_min if pods_max is None else pods_max,
    )


def _own_replicas(res: Resource, keys: tuple[str, ...], default: int = 1) -> Replicas:
    raw = dig(res.data, *keys)
    value = to_int(raw, None)
    if raw is None:
        return Replicas(default, default, f"{'.'.join(keys)} (default {default})", pointer(*keys[:-1]))
    if value is None or value < 0:
        return Replicas(None, None, f"{'.'.join(keys)} {raw!r} (not a number)", pointer(*keys))
    return Replicas(value, value, f"{'.'.join(keys)} {value}", pointer(*keys))


def _simple(
    keys: tuple[Any, ...], replicas: tuple[str, ...] | None = ("spec", "replicas"), batch: bool = False
) -> Callable[[Resource], Workload]:
    def build(res: Resource) -> Workload:
        workload = Workload(res, batch=batch)
        template = _template(workload, keys, POD)
        workload.templates = [template] if template else []
        workload.replicas = _own_replicas(res, replicas) if replicas else Replicas(None, None, "one per node")
        return workload

    return build


def _pod(res: Resource) -> Workload:
    workload = Workload(res, replicas=Replicas(1, 1, "a bare Pod"))
    spec = res.data.get("spec")
    if isinstance(spec, dict):
        workload.templates = [PodTemplate(workload, POD, spec, "/spec", res.metadata)]
    return workload


def _pod_template(res: Resource) -> Workload:
    workload = Workload(res, replicas=Replicas(0, 0, "a PodTemplate runs no pods"), runs_pods=False)
    template = _template(workload, ("template",), POD)
    workload.templates = [template] if template else []
    return workload


def _leader_worker_set(res: Resource) -> Workload:
    lwt = ("spec", "leaderWorkerTemplate")
    size = to_int(dig(res.data, *lwt, "size"), 1) or 1
    workload = Workload(res, replicas=_own_replicas(res, ("spec", "replicas")), group_size=size)
    if isinstance(dig(res.data, *lwt, "leaderTemplate"), dict):
        leader = _template(workload, (*lwt, "leaderTemplate"), LEADER)
        worker = _template(workload, (*lwt, "workerTemplate"), WORKER, size - 1)
        workload.templates = [t for t in (leader, worker) if t]
    else:  # without a leaderTemplate, every pod of the group (the leader too) uses the worker's
        worker = _template(workload, (*lwt, "workerTemplate"), WORKER, size)
        workload.templates = [worker] if worker else []
    return workload


def _ray_cluster_spec(workload: Workload, base: tuple[str, ...]) -> None:
    head = _template(workload, (*base, "headGroupSpec", "template"), HEAD)
    templates = [head] if head else []
    autoscaling = dig(workload.resource.data, *base, "enableInTreeAutoscaling") is True
    for i, group in enumerate(as_list(dig(workload.resource.data, *base, "workerGroupSpecs"))):
        if not isinstance(group, dict):
            continue
        hosts = to_int(group.get("numOfHosts"), 1) or 1
        replicas = to_int(group.get("replicas"), None)
        low = to_int(group.get("minReplicas"), 0) or 0
        high = to_int(group.get("maxReplicas"), None)
        fixed = replicas if replicas is not None else low
        pods_min = (low if autoscaling else fixed) * hosts
        pods_max = ((high if high is not None else fixed) if autoscaling else fixed) * hosts
        name = str(group.get("groupName") or i)
        template = _template(
            workload, (*base, "workerGroupSpecs", i, "template"), f"{WORKER}:{name}", pods_min, pods_max
        )
        if template:
            templates.append(template)
    workload.templates = templates


def _ray(base: tuple[str, ...]) -> Callable[[Resource], Workload]:
    def build(res: Resource) -> Workload:
        workload = Workload(res, replicas=Replicas(1, 1, "one Ray cluster"))
        _ray_cluster_spec(workload, base)
        return workload

    return build


def _serving_runtime(res: Resource) -> Workload:
    workload = Workload(res, replicas=Replicas(0, 0, "a ServingRuntime runs no pods itself"), runs_pods=False)
    runtime = _template(workload, ("spec",), RUNTIME, inline=True)
    worker = _template(workload, ("spec", "workerSpec"), WORKER, inline=True)
    workload.templates = [t for t in (runtime, worker) if t]
    return workload


def _inference_service(res: Resource) -> Workload:
    predictor = ("spec", "predictor")
    low = to_int(dig(res.data, *predictor, "minReplicas"), None)
    high = to_int(dig(res.data, *predictor, "maxReplicas"), None)
    low = 1 if low is None else low
    high = low if not high else high
    source = "spec.predictor.minReplicas/maxReplicas"
    workload = Workload(res, replicas=Replicas(low, max(low, high), source, "/spec/predictor"))
    template = _template(workload, predictor, PREDICTOR, inline=True)
    if template is not None:
        model = dig(res.data, *predictor, "model")
        if isinstance(model, dict):
            template.extra.append((model, "/spec/predictor/model", MODEL))
        pipeline = to_int(dig(res.data, *predictor, "workerSpec", "pipelineParallelSize"), None)
        worker = _template(
            workload, (*predictor, "workerSpec"), WORKER, max((pipeline or 2) - 1, 0), inline=True
        )
        workload.templates = [t for t in (template, worker) if t]
    return workload


KNATIVE_MIN = "autoscaling.knative.dev/min-scale"
KNATIVE_MAX = "autoscaling.knative.dev/max-scale"


def _knative_service(res: Resource) -> Workload:
    workload = Workload(res)
    template = _template(workload, ("spec", "template"), POD)
    workload.templates = [template] if template else []
    annotations = template.annotations if template else {}
    low = to_int(annotations.get(KNATIVE_MIN) or annotations.get("autoscaling.knative.dev/minScale"), 0) or 0
    high = to_int(annotations.get(KNATIVE_MAX) or annotations.get("autoscaling.knative.dev/maxScale"), 0) or 0
    workload.replicas = Replicas(
        low, high or None, f"{KNATIVE_MIN}/{KNATIVE_MAX} annotations", "/spec/template/metadata/annotations"
    )
    return workload


def _cron_job(res: Resource) -> Workload:
    workload = _simple(
        ("spec", "jobTemplate", "spec", "template"),
        ("spec", "jobTemplate", "spec", "parallelism"),
        batch=True,
    )(res)
    return workload


#: (API group, kind) → how to read its pod templates.  The group keeps a Knative
#: ``Service`` apart from a core one.
WORKLOAD_KINDS: dict[tuple[str, str], Callable[[Resource], Workload]] = {
    ("", "Pod"): _pod,
    ("", "PodTemplate"): _pod_template,
    ("", "ReplicationController"): _simple(("spec", "template")),
    ("apps", "Deployment"): _simple(("spec", "template")),
    ("apps", "StatefulSet"): _simple(("spec", "template")),
    ("apps", "ReplicaSet"): _simple(("spec", "template")),
    ("apps", "DaemonSet"): _simple(("spec", "template"), replicas=None),
    ("batch", "Job"): _simple(("spec", "template"), ("spec", "parallelism"), batch=True),
    ("batch", "CronJob"): _cron_job,
    ("argoproj.io", "Rollout"): _simple(("spec", "template")),
    ("leaderworkerset.x-k8s.io", "LeaderWorkerSet"): _leader_worker_set,
    ("serving.kserve.io", "ServingRuntime"): _serving_runtime,
    ("serving.kserve.io", "ClusterServingRuntime"): _serving_runtime,
    ("serving.kserve.io", "InferenceService"): _inference_service,
    ("ray.io", "RayCluster"): _ray(("spec",)),
    ("ray.io", "RayService"): _ray(("spec", "rayClusterConfig")),
    ("ray.io", "RayJob"): _ray(("spec", "rayClusterSpec")),
    ("serving.knative.dev", "Service"): _knative_service,
}

#: Kinds whose replica count a scaler (KEDA, HPA) can set through the scale subresource.
SCALABLE_KINDS = frozenset(
    {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "Rollout", "LeaderWorkerSet"}
)
