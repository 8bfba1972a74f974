"""GPU accounting across overlays for the fleet rules."""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmfleet.lint.context import FleetContext, LintContext, Workload, dig
from llmfleet.lint.rules._common import as_int, pod_gpus, resolve_target
from llmfleet.manifests import Resource, escape_pointer_token

QUOTA_KEYS = ("requests.nvidia.com/gpu", "limits.nvidia.com/gpu")
KEDA_DEFAULT_MAX = 100
DEFAULT_SURGE = "25%"


@dataclass
class GpuUse:
    overlay: str
    workload: Workload
    gpus_per_pod: int
    max_replicas: int
    source: str            # "ScaledObject ns/name maxReplicaCount" or "spec.replicas"

    @property
    def at_max(self) -> int:
        return self.gpus_per_pod * self.max_replicas


def gpu_uses(name: str, ctx: LintContext) -> list[GpuUse]:
    uses = []
    scaled_targets: dict[int, Resource] = {}
    for scaled in ctx.of_kind("ScaledObject"):
        workload, _ = resolve_target(ctx, scaled)
        if workload is not None:
            scaled_targets[id(workload)] = scaled
    for workload in ctx.workloads:
        gpus = pod_gpus(workload)
        if gpus <= 0 or workload.resource.kind in ("Pod", "PodTemplate", "Job", "CronJob"):
            continue
        scaled = scaled_targets.get(id(workload))
        if scaled is not None:
            raw = dig(scaled.data, "spec", "maxReplicaCount")
            maximum = as_int(raw, KEDA_DEFAULT_MAX)
            maximum = KEDA_DEFAULT_MAX if maximum is None else maximum
            source = f"{scaled.ref} maxReplicaCount {maximum}" + ("" if raw is not None else " (default)")
        else:
            maximum = as_int(dig(workload.resource.data, "spec", "replicas"), 1)
            maximum = 1 if maximum is None else maximum
            source = f"spec.replicas {maximum}"
        uses.append(GpuUse(name, workload, gpus, maximum, source))
    return uses


def quotas(fleet: FleetContext) -> dict[str, list[tuple[Resource, str, int]]]:
    """namespace → [(ResourceQuota, pointer, hard GPUs)] from every context."""
    found: dict[str, list[tuple[Resource, str, int]]] = {}
    seen = set()
    for ctx in fleet.all_contexts():
        for quota in ctx.of_kind("ResourceQuota"):
            key = (quota.namespace, quota.name)
            if key in seen:
                continue
            seen.add(key)
            hard = dig(quota.data, "spec", "hard")
            if not isinstance(hard, dict):
                continue
            for name in QUOTA_KEYS:
                value = as_int(hard.get(name))
                if value is not None:
                    found.setdefault(quota.namespace, []).append(
                        (quota, f"/spec/hard/{escape_pointer_token(name)}", value))
                    break
    return found


def all_uses(fleet: FleetContext) -> list[GpuUse]:
    uses = []
    for name, ctx in fleet.overlays.items():
        uses += gpu_uses(name, ctx)
    return uses


def surge_pods(workload: Workload, replicas: int) -> tuple[int, str]:
    """Extra pods a rolling update creates (maxSurge rounds up), and the pointer."""
    data = workload.resource.data
    if workload.resource.kind != "Deployment":
        return 0, ""
    strategy = dig(data, "spec", "strategy")
    if isinstance(strategy, dict) and strategy.get("type") == "Recreate":
        return 0, ""
    raw = dig(data, "spec", "strategy", "rollingUpdate", "maxSurge")
    path = "/spec/strategy/rollingUpdate/maxSurge" if raw is not None else "/spec/strategy" \
        if isinstance(strategy, dict) else "/spec"
    value = DEFAULT_SURGE if raw is None else raw
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            percent = float(value.strip()[:-1])
        except ValueError:
            return 0, path
        return math.ceil(replicas * percent / 100), path
    number = as_int(value, 0)
    return (number or 0), path
