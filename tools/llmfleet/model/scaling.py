"""Autoscalers and the replica range they give a workload: KEDA ScaledObjects (with KEDA's
defaults) and HorizontalPodAutoscalers, their targets resolved in the same input.

KEDA v2 ``ScaledObject`` (keda.sh/v1alpha1; docs/reference/tooling.md §8): ``minReplicaCount``
defaults to 0, ``maxReplicaCount`` to 100, ``pollingInterval`` to 30 s, ``cooldownPeriod`` to
300 s; ``scaleTargetRef.kind`` defaults to Deployment and ``apiVersion`` to apps/v1; a
trigger's ``metricType`` defaults to AverageValue; ``advanced.horizontalPodAutoscalerConfig``
is passed to the HPA KEDA creates (named ``keda-hpa-<name>``).  HPA autoscaling/v2:
``minReplicas`` defaults to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmfleet.model.k8s import Resource, as_dict, as_list, dig, to_float, to_int
from llmfleet.model.promql import Query, parse_query
from llmfleet.model.workloads import Workload

KEDA_DEFAULT_MIN = 0
KEDA_DEFAULT_MAX = 100
KEDA_DEFAULT_POLLING_S = 30
KEDA_DEFAULT_COOLDOWN_S = 300
KEDA_DEFAULT_METRIC_TYPE = "AverageValue"
HPA_DEFAULT_MIN = 1
HPA_DEFAULT_SCALE_DOWN_WINDOW_S = 300
#: KEDA names the HPA it creates ``keda-hpa-<ScaledObject name>``, and an HPA name is a
#: label value in its own metrics (at most 63 characters): the ScaledObject name may have
#: at most 63 - len("keda-hpa-") = 54 characters (docs/reference/tooling.md §8).
KEDA_HPA_PREFIX = "keda-hpa-"
KEDA_MAX_NAME = 63 - len(KEDA_HPA_PREFIX)

BEHAVIOR_PATH = ("spec", "advanced", "horizontalPodAutoscalerConfig", "behavior")


@dataclass(frozen=True)
class TargetRef:
    api_version: str
    kind: str
    name: str
    explicit: bool  # scaleTargetRef present at all


@dataclass
class Trigger:
    index: int
    type: str
    metadata: dict[str, Any]
    metric_type: str
    name: str = ""

    @property
    def path(self) -> str:
        return f"/spec/triggers/{self.index}"

    @property
    def query(self) -> Query | None:
        """The PromQL query of a ``prometheus`` trigger, parsed."""
        text = self.metadata.get("query")
        if self.type != "prometheus" or not isinstance(text, str):
            return None
        return parse_query(text)

    @property
    def threshold(self) -> float | None:
        return to_float(self.metadata.get("threshold"))

    @property
    def activation_threshold(self) -> float | None:
        return to_float(self.metadata.get("activationThreshold"))


@dataclass
class Autoscaler:
    """A KEDA ScaledObject or an HPA, its target and the replica range it sets."""

    resource: Resource
    target_ref: TargetRef
    target: Workload | None
    minimum: int
    maximum: int
    min_explicit: bool
    max_explicit: bool
    triggers: list[Trigger] = field(default_factory=list)
    behavior: dict[str, Any] = field(default_factory=dict)
    behavior_explicit: bool = False
    polling_interval_s: int = KEDA_DEFAULT_POLLING_S
    cooldown_s: int = KEDA_DEFAULT_COOLDOWN_S

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def is_keda(self) -> bool:
        return self.resource.kind == "ScaledObject"

    @property
    def source(self) -> str:
        what = "maxReplicaCount" if self.is_keda else "maxReplicas"
        return f"{self.resource.ref} {what} {self.maximum}" + ("" if self.max_explicit else " (default)")

    def scale_down_window_s(self) -> tuple[int, bool]:
        """(scaleDown stabilizationWindowSeconds, written explicitly)."""
        raw = dig(self.behavior, "scaleDown", "stabilizationWindowSeconds")
        value = to_int(raw, None)
        if value is None:
            return HPA_DEFAULT_SCALE_DOWN_WINDOW_S, False
        return value, True

    @property
    def behavior_pointer(self) -> str:
        return "/" + "/".join(BEHAVIOR_PATH) if self.is_keda else "/spec/behavior"


def _target_ref(res: Resource, key: str) -> TargetRef:
    ref = res.spec.get(key)
    if not isinstance(ref, dict):
        return TargetRef("apps/v1", "Deployment", "", False)
    return TargetRef(
        str(ref.get("apiVersion") or "apps/v1"),
        str(ref.get("kind") or "Deployment"),
        str(ref.get("name") or ""),
        True,
    )


def resolve(ref: TargetRef, namespace: str, workloads: list[Workload]) -> Workload | None:
    """The workload a scale target names, in the same namespace (kind, name and API group
    must match; the version may differ)."""
    group = ref.api_version.rpartition("/")[0]
    for workload in workloads:
        res = workload.resource
        if (
            res.kind == ref.kind
            and res.name == ref.name
            and res.namespace == namespace
            and (res.api_version == ref.api_version or res.group == group)
        ):
            return workload
    return None


def scaled_object(res: Resource, workloads: list[Workload]) -> Autoscaler:
    spec = res.spec
    ref = _target_ref(res, "scaleTargetRef")
    low = to_int(spec.get("minReplicaCount"), None)
    high = to_int(spec.get("maxReplicaCount"), None)
    triggers = []
    for i, trig in enumerate(as_list(spec.get("triggers"))):
        if isinstance(trig, dict):
            triggers.append(
                Trigger(
                    i,
                    str(trig.get("type") or ""),
                    as_dict(trig.get("metadata")),
                    str(trig.get("metricType") or KEDA_DEFAULT_METRIC_TYPE),
                    str(trig.get("name") or ""),
                )
            )
    behavior = dig(res.data, *BEHAVIOR_PATH)
    return Autoscaler(
        res,
        ref,
        resolve(ref, res.namespace, workloads),
        KEDA_DEFAULT_MIN if low is None else low,
        KEDA_DEFAULT_MAX if high is None else high,
        low is not None,
        high is not None,
        triggers,
        as_dict(behavior),
        isinstance(behavior, dict),
        to_int(spec.get("pollingInterval"), KEDA_DEFAULT_POLLING_S) or KEDA_DEFAULT_POLLING_S,
        to_int(spec.get("cooldownPeriod"), KEDA_DEFAULT_COOLDOWN_S) or 0,
    )


def horizontal_pod_autoscaler(res: Resource, workloads: list[Workload]) -> Autoscaler:
    spec = res.spec
    ref = _target_ref(res, "scaleTargetRef")
    low = to_int(spec.get("minReplicas"), None)
    high = to_int(spec.get("maxReplicas"), None)
    behavior = spec.get("behavior")
    minimum = HPA_DEFAULT_MIN if low is None else low
    return Autoscaler(
        res,
        ref,
        resolve(ref, res.namespace, workloads),
        minimum,
        minimum if high is None else high,
        low is not None,
        high is not None,
        [],
        as_dict(behavior),
        isinstance(behavior, dict),
    )


def autoscalers(resources: list[Resource], workloads: list[Workload]) -> list[Autoscaler]:
    found = []
    for res in resources:
        if res.kind == "ScaledObject" and res.group == "keda.sh":
            found.append(scaled_object(res, workloads))
        elif res.kind == "HorizontalPodAutoscaler" and res.group == "autoscaling":
            found.append(horizontal_pod_autoscaler(res, workloads))
    return found


@dataclass(frozen=True)
class ReplicaRange:
    """Replicas of a workload at its minimum and maximum scale, and what set them."""

    minimum: int | None
    maximum: int | None
    source: str
    autoscaler: Autoscaler | None = None


def replica_range(workload: Workload, scalers: list[Autoscaler]) -> ReplicaRange:
    """The one definition of a workload's replica range: its autoscaler's (KEDA first), else
    what the object asks for itself."""
    if not workload.runs_pods:
        return ReplicaRange(0, 0, workload.replicas.source)
    targeting = [s for s in scalers if s.target is workload]
    if targeting:
        scaler = next((s for s in targeting if s.is_keda), targeting[0])
        return ReplicaRange(scaler.minimum, max(scaler.minimum, scaler.maximum), scaler.source, scaler)
    own = workload.replicas
    return ReplicaRange(own.minimum, own.maximum, own.source)


DEFAULT_SURGE = "25%"


def rollout_surge(workload: Workload, replicas: int) -> tuple[int, str]:
    """Extra pods a rolling update of a Deployment creates at ``replicas`` (maxSurge, default
    25%, percentages rounded up; apps/v1 DeploymentStrategy) and the pointer that sets it."""
    data = workload.resource.data
    if workload.kind != "Deployment":
        return 0, ""
    strategy = dig(data, "spec", "strategy")
    if isinstance(strategy, dict) and strategy.get("type") == "Recreate":
        return 0, ""
    raw = dig(data, "spec", "strategy", "rollingUpdate", "maxSurge")
    path = (
        "/spec/strategy/rollingUpdate/maxSurge"
        if raw is not None
        else "/spec/strategy"
        if isinstance(strategy, dict)
        else "/spec"
    )
    value = DEFAULT_SURGE if raw is None else raw
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            percent = float(value.strip()[:-1])
        except ValueError:
            return 0, path
        return -(-int(replicas * percent) // 100), path
    return (to_int(value, 0) or 0), path
