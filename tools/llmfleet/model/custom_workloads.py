"""Workloads inside custom resources, read from a declarative table of pod-template paths
(``llmfleet/data/custom_workloads.yaml``), so that a new operator's kind needs a table entry,
not code.  Kinds with their own reader in :mod:`llmfleet.model.workloads` keep it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from llmfleet.model.k8s import Resource, as_dict, as_list, dig, pointer, to_int
from llmfleet.model.workloads import DeclaredClaim, PodTemplate, Replicas, Workload, _own_replicas


@dataclass(frozen=True)
class TemplatePath:
    path: str
    role: str
    inline: bool = False
    container: str = ""
    #: Paths, beside the template (relative to the node that holds it), whose product is the
    #: number of pods of this template per object (a Dynamo service's replicas × nodeCount).
    pods: tuple[str, ...] = ()
    #: Path beside the template to the names of claims the operator mounts into its pods.
    mounts: str = ""
    #: Path beside the template to resources the operator sets on the main container, in
    #: Dynamo's ResourceItem form ({requests, limits} of {cpu, memory, gpu, gpuType, custom}).
    resources: str = ""


@dataclass(frozen=True)
class ClaimPath:
    """Where a custom resource declares the claims its operator creates."""

    path: str
    name: str
    access_mode: str


@dataclass(frozen=True)
class CustomKind:
    group: str
    kind: str
    templates: tuple[TemplatePath, ...]
    replicas: str = ""
    runs_pods: bool = True
    platform_scheduling: bool = False
    claims: ClaimPath | None = None
    #: What the operator adds to every pod it makes (``probes``, ``shm``, ``routing``).
    operator: frozenset[str] = frozenset()


@cache
def table() -> dict[tuple[str, str], CustomKind]:
    text = resources.files("llmfleet").joinpath("data/custom_workloads.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    out = {}
    for entry in data["kinds"]:
        claims = entry.get("claims")
        kind = CustomKind(
            entry["group"],
            entry["kind"],
            tuple(
                TemplatePath(
                    t["path"],
                    t.get("role", "pod"),
                    bool(t.get("inline")),
                    t.get("container", ""),
                    tuple(t.get("pods", ())),
                    t.get("mounts", ""),
                    t.get("resources", ""),
                )
                for t in entry["templates"]
            ),
            entry.get("replicas", ""),
            entry.get("runsPods", True),
            entry.get("scheduling") == "platform" or not entry.get("runsPods", True),
            ClaimPath(claims["path"], claims["name"], claims["accessMode"]) if claims else None,
            frozenset(entry.get("operator", ())),
        )
        out[(kind.group, kind.kind)] = kind
    return out


def expand(data: Any, path: str) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(keys, node) for every node ``path`` reaches (``[*]`` list items, ``*`` map values)."""
    found: list[tuple[tuple[Any, ...], Any]] = [((), data)]
    for token in path.split("."):
        each_item = token.endswith("[*]")
        key = token[:-3] if each_item else token
        step: list[tuple[tuple[Any, ...], Any]] = []
        for keys, node in found:
            if key == "*":
                if isinstance(node, dict):
                    step += [((*keys, k), v) for k, v in node.items()]
                continue
            if not isinstance(node, dict) or key not in node:
                continue
            child, child_keys = node[key], (*keys, key)
            if each_item:
                if isinstance(child, list):
                    step += [((*child_keys, i), item) for i, item in enumerate(child)]
            else:
                step.append((child_keys, child))
        found = step
    return iter(found)


def _label(keys: tuple[Any, ...], role: str) -> str:
    named = [str(k) for k in keys if isinstance(k, int) or k not in ("spec", "template")]
    return f"{role}:{named[-1]}" if named and role != "pod" else role


def reader(kind: CustomKind) -> Callable[[Resource], Workload]:
    def build(res: Resource) -> Workload:
        if kind.runs_pods:
            keys = tuple(kind.replicas.split(".")) if kind.replicas else ()
            replicas = _own_replicas(res, keys) if keys else Replicas(1, 1, f"one {kind.kind}")
        else:
            replicas = Replicas(0, 0, f"a {kind.kind} runs no pods itself")
        workload = Workload(
            res,
            replicas=replicas,
            runs_pods=kind.runs_pods,
            platform_scheduling=kind.platform_scheduling,
            operator_managed=kind.operator,
        )
        for spec in kind.templates:
            for keys, node in expand(res.data, spec.path):
                if not isinstance(node, dict):
                    continue
                if spec.inline:
                    template = PodTemplate(workload, _label(keys, spec.role), node, pointer(*keys), {})
                else:
                    inner = node.get("spec")
                    if not isinstance(inner, dict):
                        continue
                    template = PodTemplate(
                        workload,
                        _label(keys, spec.role),
                        inner,
                        pointer(*keys, "spec"),
                        as_dict(node.get("metadata")),
                    )
                if spec.container:
                    one = dig(node, spec.container)
                    if isinstance(one, dict):
                        holder = dig(res.data, *keys[:-1]) if keys[:-1] else res.data
                        one = _with_resources(one, dig(holder, spec.resources) if spec.resources else None)
                        template.extra.append((one, pointer(*keys, spec.container), "containers"))
                _beside(res.data, keys[:-1], spec, template)
                workload.templates.append(template)
        if kind.claims is not None:
            workload.declared_claims = list(_declared_claims(res.data, kind.claims))
        return workload

    return build


def _beside(data: Any, parent: tuple[Any, ...], spec: TemplatePath, template: PodTemplate) -> None:
    """The pod count and the operator-mounted claims read beside a template."""
    holder = dig(data, *parent) if parent else data
    if spec.pods:
        count = 1
        for path in spec.pods:
            found = [node for _, node in expand(holder, path)]
            value = to_int(found[0], None) if found else None
            count *= 1 if value is None or value < 0 else value
        template.pods_min = template.pods_max = count
    if spec.mounts:
        for keys, name in expand(holder, spec.mounts):
            if isinstance(name, str) and name:
                template.claim_mounts.append((name, pointer(*parent, *keys)))


def _with_resources(container: dict[str, Any], resources: Any) -> dict[str, Any]:
    """The main container with the resources the operator sets from a Dynamo-style
    ResourceItem (``gpu`` becomes ``gpuType``, default nvidia.com/gpu; ``custom`` entries as
    named), the container's own values winning; a copy, the object is left as written."""
    if not isinstance(resources, dict):
        return container
    merged = dict(as_dict(container.get("resources")))
    for section in ("requests", "limits"):
        item = resources.get(section)
        if not isinstance(item, dict):
            continue
        values = dict(as_dict(item.get("custom")))
        for key in ("cpu", "memory"):
            if item.get(key) not in (None, ""):
                values[key] = item[key]
        if item.get("gpu") not in (None, ""):
            values[str(item.get("gpuType") or "nvidia.com/gpu")] = item["gpu"]
        merged[section] = {**values, **as_dict(merged.get(section))}
    return {**container, "resources": merged}


def _declared_claims(data: Any, claims: ClaimPath) -> Iterator[DeclaredClaim]:
    for keys, entry in expand(data, claims.path):
        if not isinstance(entry, dict) or not isinstance(entry.get(claims.name), str):
            continue
        modes = entry.get(claims.access_mode)
        found = [str(m) for m in (as_list(modes) if isinstance(modes, list) else [modes]) if m]
        where = pointer(*keys, claims.access_mode) if modes is not None else pointer(*keys)
        yield DeclaredClaim(entry[claims.name], tuple(found), where)


def custom_reader(group: str, kind: str) -> Callable[[Resource], Workload] | None:
    found = table().get((group, kind))
    return reader(found) if found else None
