"""Bin-packing a pod onto the node shapes of its GPU class: how many such pods one node
holds (GPUs, allocatable CPU and memory, less the node's DaemonSet headroom), and what one
pod costs as its share of the instance.  The cheapest priced placement wins.

    pods per node = min(node GPUs // pod GPUs,
                        (allocatable CPU - headroom) // pod CPU,
                        (allocatable memory - headroom) // pod memory)
    $/h per pod   = instance $/h / pods per node

The share assumes the other slots of the node are filled by pods of the same kind (more
replicas of the model); a lone pod on a larger node pays the whole node."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from llmfleet.catalog.node_shapes import Catalog, NodeShape
from llmfleet.catalog.pricing.instances import InstancePrice, PriceTable


@dataclass(frozen=True)
class PodRequest:
    gpu_class: str
    gpus: int
    cpu: Decimal  # cores
    memory: Decimal  # bytes


@dataclass(frozen=True)
class Placement:
    shape: NodeShape
    price: InstancePrice
    pods_per_node: int

    @property
    def per_pod_hour(self) -> float:
        return self.price.on_demand / self.pods_per_node

    @property
    def spot_per_pod_hour(self) -> float | None:
        return None if self.price.spot is None else self.price.spot / self.pods_per_node

    @property
    def shown(self) -> str:
        share = "the whole node" if self.pods_per_node == 1 else f"1/{self.pods_per_node} of the node"
        return (
            f"{self.shape.name} ({self.price.gpus} × {self.price.gpu_class}, "
            f"${self.price.on_demand:,.4f}/h on demand, {self.price.where}): {share}"
        )


def pods_per_node(shape: NodeShape, request: PodRequest, headroom: tuple[Decimal, Decimal]) -> int:
    if request.gpus <= 0 or request.gpus > shape.gpus:
        return 0
    limits = [shape.gpus // request.gpus]
    for have, reserve, want in (
        (shape.cpu, headroom[0], request.cpu),
        (shape.memory, headroom[1], request.memory),
    ):
        if want > 0:
            limits.append(math.floor((have - reserve) / want))
    return max(0, min(limits))


def placements(
    request: PodRequest,
    shapes: Catalog,
    prices: PriceTable,
    clouds: tuple[str, ...] = (),
    spot: bool = False,
) -> list[Placement]:
    """Every priced shape of the pod's class that holds it, cheapest per pod first (with
    ``spot``: those with a sourced spot price, cheapest at spot first)."""
    found: list[Placement] = []
    for shape in shapes.of_class(request.gpu_class):
        if clouds and shape.cloud not in clouds:
            continue
        price = prices.find(shape.cloud, shape.name)
        if price is None or price.gpus != shape.gpus:
            continue
        count = pods_per_node(shape, request, shapes.headroom)
        if count > 0 and (not spot or price.spot is not None):
            found.append(Placement(shape, price, count))
    if spot:
        return sorted(found, key=lambda p: (p.spot_per_pod_hour or 0.0, p.shape.gpus, p.shape.name))
    return sorted(found, key=lambda p: (p.per_pod_hour, p.shape.gpus, p.shape.name))


def cheapest(
    request: PodRequest,
    shapes: Catalog,
    prices: PriceTable,
    clouds: tuple[str, ...] = (),
    spot: bool = False,
) -> Placement | None:
    found = placements(request, shapes, prices, clouds, spot)
    return found[0] if found else None


def holds_somewhere(request: PodRequest, shapes: Catalog, clouds: tuple[str, ...] = ()) -> bool:
    """Whether any shape of the class (priced or not) holds the pod."""
    return any(
        pods_per_node(s, request, shapes.headroom) > 0
        for s in shapes.of_class(request.gpu_class)
        if not clouds or s.cloud in clouds
    )
