"""Bin-packing pods onto the node shapes of their GPU class: how many such pods one node
holds (GPUs, allocatable CPU and memory, less the node's DaemonSet headroom), and what a
group of pods at a known count costs on whole nodes.  The cheapest placement for that
count wins.

    pods per node = min(node GPUs // pod GPUs,
                        (allocatable CPU - headroom) // pod CPU,
                        (allocatable memory - headroom) // pod memory)
    nodes         = ceil(pods / pods per node)
    $/h           = nodes x instance $/h          (spot likewise)

A lone pod on an 8-GPU node pays the whole node, so one pod may be cheapest on a 1-GPU
shape and eight pods on the 8-GPU one.  The pod's *share* of a node (instance $/h / pods
per node, :attr:`Placement.per_pod_hour`) is only the marginal price of one more pod once
the node's other slots are filled."""

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
        """The pod's share of the node: the marginal price once the node is shared."""
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


@dataclass(frozen=True)
class Nodes:
    """``pods`` pods of ``request`` on whole nodes of one placement's shape."""

    placement: Placement
    request: PodRequest
    pods: int

    @property
    def count(self) -> int:
        return math.ceil(self.pods / self.placement.pods_per_node) if self.pods > 0 else 0

    @property
    def slots(self) -> int:
        return self.count * self.placement.pods_per_node

    @property
    def free_slots(self) -> int:
        return self.slots - self.pods

    @property
    def idle_gpus(self) -> int:
        return self.count * self.placement.shape.gpus - self.pods * self.request.gpus

    @property
    def on_demand(self) -> float:
        return self.count * self.placement.price.on_demand

    @property
    def spot(self) -> float | None:
        spot = self.placement.price.spot
        return None if spot is None else self.count * spot

    @property
    def slots_shown(self) -> str:
        """``7 of 8 GPU slots free``; ``1 of 2 4-GPU slots free``; with the GPUs no pod can
        use when CPU or memory holds fewer pods than the GPUs would."""
        unit = "GPU slots" if self.request.gpus == 1 else f"{self.request.gpus}-GPU slots"
        text = f"{self.free_slots} of {self.slots} {unit} free"
        stranded = self.idle_gpus - self.free_slots * self.request.gpus
        if stranded > 0:
            text += (
                f", {stranded} more GPU{'s' if stranded != 1 else ''} idle "
                f"(CPU or memory holds {self.placement.pods_per_node} such pods per node)"
            )
        return text

    @property
    def shown(self) -> str:
        """``1 node of Standard_ND96asr_v4 (8 × a100-40gb, $27.1970/h on demand, aks eastus)``."""
        return self.text()

    def text(self, spot: bool = False) -> str:
        price = self.placement.price
        hour = (
            f"${price.spot:,.4f}/h spot"
            if spot and price.spot is not None
            else f"${price.on_demand:,.4f}/h on demand"
        )
        return (
            f"{self.count} node{'s' if self.count != 1 else ''} of {self.placement.shape.name} "
            f"({price.gpus} × {price.gpu_class}, {hour}, {price.where})"
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


def cheapest_nodes(
    request: PodRequest,
    pods: int,
    choices: list[Placement] | tuple[Placement, ...],
    spot: bool = False,
) -> Nodes | None:
    """The cheapest whole nodes for ``pods`` pods among ``choices`` (placements of the
    request): ceil(pods / pods per node) nodes × the instance price (with ``spot``: the spot
    price, among the shapes that have one); ties go to the smaller shape."""
    found = [Nodes(p, request, pods) for p in choices if not spot or p.price.spot is not None]
    if not found:
        return None
    if spot:
        return min(found, key=lambda n: (n.spot or 0.0, n.placement.shape.gpus, n.placement.shape.name))
    return min(found, key=lambda n: (n.on_demand, n.placement.shape.gpus, n.placement.shape.name))


def holds_somewhere(request: PodRequest, shapes: Catalog, clouds: tuple[str, ...] = ()) -> bool:
    """Whether any shape of the class (priced or not) holds the pod."""
    return any(
        pods_per_node(s, request, shapes.headroom) > 0
        for s in shapes.of_class(request.gpu_class)
        if not clouds or s.cloud in clouds
    )
