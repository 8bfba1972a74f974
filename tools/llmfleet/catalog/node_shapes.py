"""GPU node shapes: what a node of a GPU node pool offers a pod (GPUs, allocatable CPU and
memory), per GPU class and cloud, from ``llmfleet/data/node_shapes.yaml`` (sources and the
derivation of allocatable are in that file), or the cluster's own shapes from llmfleet.yaml
(``cluster.node-shapes``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from llmfleet import DATA_DIR
from llmfleet.kube import safe_yaml
from llmfleet.kube.quantity import parse_quantity

DATA_FILE = DATA_DIR / "node_shapes.yaml"


@dataclass(frozen=True)
class NodeShape:
    name: str
    gpu_class: str
    cloud: str
    gpus: int
    cpu: Decimal  # allocatable cores
    memory: Decimal  # allocatable bytes

    def fits(self, gpus: int, cpu: Decimal, memory: Decimal, headroom: tuple[Decimal, Decimal]) -> bool:
        return gpus <= self.gpus and cpu + headroom[0] <= self.cpu and memory + headroom[1] <= self.memory

    @property
    def shown(self) -> str:
        return (
            f"{self.name} ({self.gpus} GPU, {float(self.cpu):g} CPU, "
            f"{float(self.memory) / 2**30:.0f} GiB allocatable)"
        )


@dataclass(frozen=True)
class Catalog:
    shapes: tuple[NodeShape, ...]
    headroom: tuple[Decimal, Decimal]

    def of_class(self, gpu_class: str) -> list[NodeShape]:
        return [s for s in self.shapes if s.gpu_class == gpu_class]


def _shape(entry: dict[str, Any], gpu_class: str, cloud: str) -> NodeShape:
    allocatable = entry.get("allocatable") or {}
    return NodeShape(
        str(entry["name"]),
        gpu_class,
        cloud,
        int(entry["gpus"]),
        parse_quantity(allocatable.get("cpu", entry.get("cpu"))) or Decimal(0),
        parse_quantity(allocatable.get("memory", f"{entry.get('memory_gib', 0)}Gi")) or Decimal(0),
    )


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    raw = safe_yaml.load(DATA_FILE.read_text(encoding="utf-8"))
    shapes = [
        _shape(entry, str(gpu_class), str(cloud))
        for gpu_class, clouds in (raw.get("shapes") or {}).items()
        for cloud, entries in (clouds or {}).items()
        for entry in entries or []
    ]
    headroom = raw.get("pod_headroom") or {}
    return Catalog(
        tuple(shapes),
        (
            parse_quantity(headroom.get("cpu", "0")) or Decimal(0),
            parse_quantity(headroom.get("memory", "0")) or Decimal(0),
        ),
    )


@lru_cache(maxsize=1)
def _not_derived() -> dict[str, tuple[str, ...]]:
    raw = safe_yaml.load(DATA_FILE.read_text(encoding="utf-8"))
    return {str(k): tuple(str(c) for c in v or ()) for k, v in (raw.get("not_derived") or {}).items()}


def not_derived(gpu_class: str) -> tuple[str, ...]:
    """The clouds that rent ``gpu_class`` but whose shapes for it are not in the data file yet
    (their allocatable figures are not sourced)."""
    return _not_derived().get(gpu_class, ())


def cluster_shapes(configured: tuple[Any, ...]) -> Catalog:
    """The shapes a cluster has: names picked from the catalog, or shapes written out
    (``{name, gpu-class, gpus, cpu, memory}`` with allocatable CPU and memory quantities)."""
    full = catalog()
    if not configured:
        return full
    picked: list[NodeShape] = []
    for item in configured:
        if isinstance(item, str):
            picked += [s for s in full.shapes if s.name == item]
        elif isinstance(item, dict):
            picked.append(
                NodeShape(
                    str(item["name"]),
                    str(item["gpu-class"]),
                    "cluster",
                    int(item["gpus"]),
                    parse_quantity(item["cpu"]) or Decimal(0),
                    parse_quantity(item["memory"]) or Decimal(0),
                )
            )
    return Catalog(tuple(picked), full.headroom)
