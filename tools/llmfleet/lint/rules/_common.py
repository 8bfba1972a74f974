"""Helpers shared by the lint rules (a module starting with ``_`` is not a rule)."""

from __future__ import annotations

import re
from typing import Any, Iterator

from llmfleet.lint.context import (Container, LintContext, Workload, dig, quantity_int,  # noqa: F401
                                   selector_matches)
from llmfleet.manifests import Resource, escape_pointer_token
from llmfleet.vllm import models
from llmfleet.vllm.settings import VllmSettings, all_settings, to_int

GPU = "nvidia.com/gpu"
GPU_TOKEN = escape_pointer_token(GPU)

#: Probe defaults (Kubernetes API reference, Probe v1).
PROBE_DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "failureThreshold": 3,
                  "timeoutSeconds": 1}
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")

#: Cold-load floor and growth (docs/reference/vllm-0.33.md §3.2: nothing listens until the model is loaded;
#: §5.9: cold starts are 10+ minutes: download, weight load, torch.compile, CUDA graphs).
COLD_LOAD_FLOOR_S = 600
COLD_LOAD_PER_BILLION_S = 12
COLD_LOAD_FLOOR_PARAMS_B = 8

DEFAULT_GRACE_S = 30         # terminationGracePeriodSeconds default (PodSpec)
SHUTDOWN_MARGIN_S = 10       # headroom for worker teardown (VLLM_WORKER_SHUTDOWN_TIMEOUT_SECONDS 5 s)


def as_int(value: Any, default: int | None = None) -> int | None:
    return to_int(value, default)


def container_gpus(container: Container) -> int:
    for section in ("limits", "requests"):
        value = quantity_int(container.resource_quantity(section, GPU))
        if value is not None:
            return value
    return 0


def gpu_path(container: Container) -> str:
    for section in ("limits", "requests"):
        if container.resource_quantity(section, GPU) is not None:
            return f"{container.path}/resources/{section}/{GPU_TOKEN}"
    return f"{container.path}/resources"


def pod_gpus(workload: Workload) -> int:
    """GPUs one pod holds: the sum over app containers, or the largest init container."""
    main = sum(container_gpus(c) for c in workload.main_containers)
    init = max((container_gpus(c) for c in workload.containers if c.init), default=0)
    return max(main, init)


def gpu_workloads(ctx: LintContext) -> Iterator[Workload]:
    for workload in ctx.workloads:
        if pod_gpus(workload) > 0:
            yield workload


def settings_by_workload(ctx: LintContext) -> dict[int, list[VllmSettings]]:
    table: dict[int, list[VllmSettings]] = {}
    for settings in all_settings(ctx):
        table.setdefault(id(settings.container.workload), []).append(settings)
    return table


def vllm_workloads(ctx: LintContext) -> Iterator[tuple[Workload, VllmSettings]]:
    for settings in all_settings(ctx):
        yield settings.container.workload, settings


# --- probes -----------------------------------------------------------------------------

def probe_field(probe: dict, name: str) -> int:
    value = as_int(probe.get(name), PROBE_DEFAULTS[name])
    return PROBE_DEFAULTS[name] if value is None else value


def probe_window(probe: dict) -> int:
    """Seconds a probe tolerates failure before it acts:
    initialDelaySeconds + failureThreshold × periodSeconds."""
    return (probe_field(probe, "initialDelaySeconds")
            + probe_field(probe, "failureThreshold") * probe_field(probe, "periodSeconds"))


def startup_need_s(settings: VllmSettings | None) -> tuple[int, str]:
    """Expected worst-case cold load of the served model and how it was derived:
    600 s, plus 12 s per billion parameters above 8 B (docs/reference/vllm-0.33.md §3.2, §5.2, §5.9)."""
    params = models.params_billion(settings.model_id) if settings is not None else None
    if params is None:
        return COLD_LOAD_FLOOR_S, "model size unknown: the 10-minute floor"
    extra = max(0.0, params - COLD_LOAD_FLOOR_PARAMS_B) * COLD_LOAD_PER_BILLION_S
    need = int(round(COLD_LOAD_FLOOR_S + extra))
    return need, (f"{settings.model_id} ≈ {params:g} B parameters: {COLD_LOAD_FLOOR_S} s + "
                  f"{COLD_LOAD_PER_BILLION_S} s × {max(0.0, params - COLD_LOAD_FLOOR_PARAMS_B):g} B "
                  f"above {COLD_LOAD_FLOOR_PARAMS_B} B")


def probe_of(container: Container, kind: str) -> dict | None:
    probe = container.data.get(kind)
    return probe if isinstance(probe, dict) else None


def workload_startup_window(ctx: LintContext, workload: Workload) -> int | None:
    """The startup window of a workload's vLLM container (its startupProbe), or None."""
    for settings in settings_for(ctx, workload):
        probe = probe_of(settings.container, "startupProbe")
        if probe is not None:
            return probe_window(probe)
    return None


# --- lifecycle --------------------------------------------------------------------------

def prestop_sleep(container: Container) -> tuple[int | None, str]:
    """Seconds of the preStop sleep (``sleep.seconds`` or ``exec`` running ``sleep N``)."""
    pre = dig(container.data, "lifecycle", "preStop")
    base = f"{container.path}/lifecycle/preStop"
    if not isinstance(pre, dict):
        return None, f"{container.path}"
    seconds = as_int(dig(pre, "sleep", "seconds"))
    if seconds is not None:
        return seconds, f"{base}/sleep/seconds"
    command = dig(pre, "exec", "command")
    if isinstance(command, list):
        words: list[str] = []
        for part in command:
            words.extend(str(part).replace(";", " ; ").replace("&&", " && ").split())
        for i, word in enumerate(words):
            if word.rsplit("/", 1)[-1] == "sleep" and i + 1 < len(words):
                value = re.fullmatch(r"(\d+)s?", words[i + 1])
                if value:
                    return int(value.group(1)), f"{base}/exec/command"
    return None, base


# --- selection --------------------------------------------------------------------------

def pods_selected(ctx: LintContext, selector: Any, namespace: str | None) -> list[Workload]:
    """Workloads whose pod template labels match ``selector`` (in ``namespace`` if given)."""
    return [w for w in ctx.workloads
            if (namespace is None or w.namespace == namespace)
            and selector_matches(selector, w.template_labels)]


def service_workloads(ctx: LintContext, service: Resource) -> list[Workload]:
    selector = dig(service.data, "spec", "selector")
    if not isinstance(selector, dict) or not selector:
        return []
    return pods_selected(ctx, {"matchLabels": selector}, service.namespace)


def is_vllm_workload(ctx: LintContext, workload: Workload) -> bool:
    return any(s.container.workload is workload for s in all_settings(ctx))


def settings_for(ctx: LintContext, workload: Workload) -> list[VllmSettings]:
    return [s for s in all_settings(ctx) if s.container.workload is workload]


def resolve_target(ctx: LintContext, scaled: Resource) -> tuple[Workload | None, dict]:
    """The workload a ScaledObject's scaleTargetRef names (kind default Deployment)."""
    ref = dig(scaled.data, "spec", "scaleTargetRef")
    if not isinstance(ref, dict):
        return None, {}
    kind = str(ref.get("kind") or "Deployment")
    api = str(ref.get("apiVersion") or "apps/v1")
    name = str(ref.get("name") or "")
    for workload in ctx.workloads:
        res = workload.resource
        if (res.kind == kind and res.name == name and res.namespace == scaled.namespace
                and (res.api_version == api or res.group == api.rpartition("/")[0])):
            return workload, ref
    return None, ref


def triggers(scaled: Resource) -> Iterator[tuple[int, dict]]:
    items = dig(scaled.data, "spec", "triggers")
    if isinstance(items, list):
        for i, trig in enumerate(items):
            if isinstance(trig, dict):
                yield i, trig


def prometheus_queries(ctx: LintContext) -> Iterator[tuple[Resource, str, str]]:
    """``(resource, pointer, query)`` of every ScaledObject prometheus query and
    PrometheusRule expr in the input."""
    for scaled in ctx.of_kind("ScaledObject"):
        for i, trig in triggers(scaled):
            if trig.get("type") == "prometheus":
                query = dig(trig, "metadata", "query")
                if query is not None:
                    yield scaled, f"/spec/triggers/{i}/metadata/query", query
    for rule_res in ctx.of_kind("PrometheusRule"):
        for gi, ri, rule in rule_items(rule_res):
            if "expr" in rule:
                yield rule_res, f"/spec/groups/{gi}/rules/{ri}/expr", rule["expr"]


#: Grafana's built-in interval variables, replaced (plain string replacement) by a duration so
#: that a dashboard query parses as PromQL; label values such as "$model" parse as they are.
GRAFANA_INTERVALS = ("${__rate_interval}", "$__rate_interval", "${__interval}", "$__interval",
                     "${__range}", "$__range")


def dashboard_queries(ctx: LintContext) -> Iterator[tuple[Resource, str, str]]:
    """``(ConfigMap, pointer of the data key, query)`` of every ``expr`` in a Grafana dashboard
    JSON held by a ConfigMap (the grafana sidecar's ``grafana_dashboard`` label, or any
    ``*.json`` key with panels)."""
    import json
    for cm in ctx.of_kind("ConfigMap"):
        data = cm.data.get("data")
        if not isinstance(data, dict):
            continue
        for key, text in data.items():
            if not isinstance(text, str) or not (str(key).endswith(".json")
                                                 or "grafana_dashboard" in cm.labels):
                continue
            try:
                board = json.loads(text)
            except ValueError:
                continue
            pointer = f"/data/{escape_pointer_token(key)}"
            for expr in _json_exprs(board):
                for variable in GRAFANA_INTERVALS:
                    expr = expr.replace(variable, "5m")
                yield cm, pointer, expr


def _json_exprs(node) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str) and value.strip():
                yield value
            else:
                yield from _json_exprs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _json_exprs(value)


def rule_items(rule_res: Resource) -> Iterator[tuple[int, int, dict]]:
    groups = dig(rule_res.data, "spec", "groups")
    if not isinstance(groups, list):
        return
    for gi, group in enumerate(groups):
        rules = dig(group, "rules")
        if isinstance(rules, list):
            for ri, rule in enumerate(rules):
                if isinstance(rule, dict):
                    yield gi, ri, rule


def regex_full_match(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False
