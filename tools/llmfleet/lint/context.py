"""What a rule sees: the objects of one input (or of the whole fleet) and helpers to walk them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

from llmfleet.config import LintSettings
from llmfleet.manifests import Resource, pointer

#: Where the pod spec lives in each workload kind.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}

CONTAINER_LISTS = ("initContainers", "containers")


def dig(data, *keys, default=None):
    """``data[k1][k2]...`` or ``default`` when any step is missing or of the wrong type."""
    for key in keys:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return default
    return data


def quantity_int(value) -> int | None:
    """A whole-number quantity (``2``, ``"2"``, ``2.0``) or None (booleans, fractions, units)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass
class Container:
    workload: "Workload"
    data: dict
    path: str                  # JSON pointer of the container in the workload object
    init: bool = False

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    @property
    def image(self) -> str:
        return str(self.data.get("image", "") or "")

    @property
    def args(self) -> list[str]:
        return [str(a) for a in self.data.get("args") or [] if a is not None]

    @property
    def command(self) -> list[str]:
        return [str(a) for a in self.data.get("command") or [] if a is not None]

    @property
    def env(self) -> list[dict]:
        return [e for e in self.data.get("env") or [] if isinstance(e, dict)]

    def env_var(self, name: str) -> tuple[int, dict] | None:
        for i, item in enumerate(self.data.get("env") or []):
            if isinstance(item, dict) and item.get("name") == name:
                return i, item
        return None

    def resource_quantity(self, section: str, resource: str):
        return dig(self.data, "resources", section, resource)

    @property
    def ports(self) -> list[dict]:
        return [p for p in self.data.get("ports") or [] if isinstance(p, dict)]


@dataclass
class Workload:
    """A pod template inside any workload kind (or a bare Pod)."""

    resource: Resource
    spec: dict                  # the pod spec
    spec_path: str              # JSON pointer of the pod spec
    template_labels: dict = field(default_factory=dict)

    @cached_property
    def containers(self) -> list[Container]:
        result = []
        for section in CONTAINER_LISTS:
            for i, data in enumerate(self.spec.get(section) or []):
                if isinstance(data, dict):
                    result.append(Container(self, data, f"{self.spec_path}/{section}/{i}",
                                            init=section == "initContainers"))
        return result

    @property
    def main_containers(self) -> list[Container]:
        return [c for c in self.containers if not c.init]

    def volume(self, name: str) -> tuple[int, dict] | None:
        for i, vol in enumerate(self.spec.get("volumes") or []):
            if isinstance(vol, dict) and vol.get("name") == name:
                return i, vol
        return None

    @property
    def namespace(self) -> str:
        return self.resource.namespace


class LintContext:
    """The objects of one input (an overlay's rendered output, or a set of files)."""

    def __init__(self, resources: list[Resource], settings: LintSettings | None = None,
                 name: str = ""):
        self.resources = resources
        self.settings = settings or LintSettings()
        self.name = name
        self._by_kind: dict[str, list[Resource]] = {}
        for res in resources:
            self._by_kind.setdefault(res.kind, []).append(res)

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

    @cached_property
    def workloads(self) -> list[Workload]:
        result = []
        for kind, keys in POD_SPEC_PATHS.items():
            for res in self._by_kind.get(kind, []):
                spec = dig(res.data, *keys)
                if not isinstance(spec, dict):
                    continue
                template = dig(res.data, *keys[:-1]) if len(keys) > 1 else res.data
                labels = dig(template, "metadata", "labels", default={})
                result.append(Workload(res, spec, pointer(*keys),
                                       labels if isinstance(labels, dict) else {}))
        return result

    def containers(self) -> Iterator[Container]:
        for workload in self.workloads:
            yield from workload.containers

    def workload_for(self, resource: Resource) -> Workload | None:
        for workload in self.workloads:
            if workload.resource is resource:
                return workload
        return None


@dataclass
class FleetContext:
    """Every overlay of the repository (``check``), for rules that look across models."""

    overlays: dict[str, LintContext]
    platform: LintContext
    settings: LintSettings
    root: str = ""

    def all_contexts(self) -> Iterator[LintContext]:
        yield from self.overlays.values()
        yield self.platform


def selector_matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) or a plain map selector."""
    if not isinstance(selector, dict) or not selector:
        return False
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
    else:
        match_labels, expressions = selector, []
    if not match_labels and not expressions:
        return False
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for expr in expressions:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
