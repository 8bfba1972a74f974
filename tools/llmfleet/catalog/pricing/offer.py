"""What a cluster can run and what a replica costs on it.

A cluster is bounded by ``cluster.cloud`` (gke, eks or aks: the node shapes of that cloud in
``node_shapes.yaml``) and ``cluster.node-shapes`` (only those shapes).  A GPU class with no
shape left is not offered: new-model does not choose it, and pinning it with ``--gpu`` is
refused (an overlay for it would stay Pending).

What replicas cost is a count of whole nodes: ``replicas × pods per replica`` pods on
``ceil(pods / pods per node)`` nodes of the shape that is cheapest for that count
(:mod:`llmfleet.catalog.pricing.binpack`); a pod's share of a node is kept only as the
marginal price of one more replica once the nodes are shared.  A class whose shapes have no
sourced price falls back to the per-GPU price of ``gpus.yaml`` (EC2 us-east-1 instance price
/ its GPUs), and the price says so."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from llmfleet.catalog.entries import GpuClass
from llmfleet.catalog.node_shapes import Catalog, NodeShape, catalog, cluster_shapes, not_derived
from llmfleet.catalog.pricing import binpack
from llmfleet.catalog.pricing.binpack import Placement, PodRequest
from llmfleet.catalog.pricing.instances import CLOUDS, PriceTable, table

GIB = Decimal(1024**3)
#: The vLLM container's requests new-model writes (base/deployment.yaml for one GPU; the
#: scaffold's patch-resources.yaml per GPU above one): CPU cores and GiB of memory.
BASE_CPU, BASE_MEMORY_GIB = 4, 24
CPU_REQUEST_PER_GPU, MEMORY_GIB_PER_GPU = 4, 48
#: Host memory per GPU where the usual node shapes have less than 48 GiB per GPU (L4, T4).
MEMORY_GIB_PER_GPU_BY_CLASS = {"t4": 24, "l4": 32}


def scaffold_pod_request(gpu_class: str, gpus: int) -> PodRequest:
    """The requests of a pod new-model scaffolds with ``gpus`` GPUs of ``gpu_class``."""
    if gpus <= 1:
        return PodRequest(gpu_class, 1, Decimal(BASE_CPU), BASE_MEMORY_GIB * GIB)
    memory = MEMORY_GIB_PER_GPU_BY_CLASS.get(gpu_class, MEMORY_GIB_PER_GPU) * gpus
    return PodRequest(gpu_class, gpus, Decimal(CPU_REQUEST_PER_GPU * gpus), memory * GIB)


@dataclass(frozen=True)
class ClusterOffer:
    clouds: tuple[str, ...]  # () = every cloud of the catalog
    shapes: Catalog
    configured_shapes: bool = False

    def shapes_of(self, gpu_class: str) -> list[NodeShape]:
        return [
            s
            for s in self.shapes.of_class(gpu_class)
            if not self.clouds or s.cloud in self.clouds or s.cloud == "cluster"
        ]

    def unavailable(self, gpu_class: str) -> str | None:
        """Why the cluster cannot run ``gpu_class``; None when it can."""
        if self.shapes_of(gpu_class):
            return None
        if self.configured_shapes:
            return f"no {gpu_class} node shape in cluster.node-shapes (llmfleet.yaml)"
        where = "/".join(self.clouds) or "any cloud"
        pending = [c for c in self.clouds if c in not_derived(gpu_class)]
        if pending and len(pending) == len(self.clouds):
            return (
                f"no {gpu_class} node shape on {where} yet ({where} rents it, but "
                "tools/llmfleet/data/node_shapes.yaml does not list its sizes: not_derived)"
            )
        return (
            f"not offered on {where} (cluster.cloud in llmfleet.yaml; "
            "tools/llmfleet/data/node_shapes.yaml lists no such node shape there)"
        )

    @property
    def catalog(self) -> Catalog:
        """The shapes the offer keeps, as a node catalog (for the multi-node planner)."""
        kept = tuple(
            s for s in self.shapes.shapes if not self.clouds or s.cloud in self.clouds or s.cloud == "cluster"
        )
        return Catalog(kept, self.shapes.headroom)


def offer_for(cloud: str | None, node_shapes: tuple = ()) -> ClusterOffer:
    clouds: tuple[str, ...] = ()
    if cloud:
        if cloud not in CLOUDS:
            from llmfleet.infra.errors import UsageError

            raise UsageError(
                f"cluster.cloud {cloud!r} (llmfleet.yaml): one of {', '.join(CLOUDS)} "
                "(the clouds tools/llmfleet/data/node_shapes.yaml has shapes for)"
            )
        clouds = (cloud,)
    shapes = cluster_shapes(node_shapes) if node_shapes else catalog()
    return ClusterOffer(clouds, shapes, bool(node_shapes))


@dataclass(frozen=True)
class GroupPrice:
    """The pods of one pod template of a replica (``pods`` pods of ``request`` each): what
    they cost at a replica count on whole nodes (:meth:`hour`), and the marginal share
    (``on_demand``, ``spot``: per replica, once the nodes are shared)."""

    request: PodRequest
    pods: int
    on_demand: float | None
    spot: float | None
    basis: str  # "instance", "per-gpu" or "no-shape"
    #: The placement of the cheapest share (the marginal price), None unless basis is "instance".
    placement: Placement | None = None
    #: Every priced placement of the pod on the cluster's shapes (basis "instance").
    choices: tuple[Placement, ...] = ()

    def nodes(self, replicas: int, spot: bool = False) -> binpack.Nodes | None:
        """The cheapest whole nodes for ``replicas`` replicas (None unless priced by instance,
        or with ``spot`` when no shape that holds the pod has a spot price)."""
        if self.basis != "instance":
            return None
        return binpack.cheapest_nodes(self.request, replicas * self.pods, self.choices, spot)

    def hour(self, replicas: int, spot: bool = False) -> float | None:
        """$/h of ``replicas`` replicas: whole nodes; per GPU (linear) without an instance price."""
        if self.basis == "instance":
            found = self.nodes(replicas, spot)
            if found is None:
                return None
            return found.spot if spot else found.on_demand
        share = self.spot if spot else self.on_demand
        return None if share is None else replicas * share

    @property
    def shown(self) -> str:
        pods = f"{self.pods} pods × " if self.pods > 1 else ""
        if self.placement is not None:
            return f"{pods}{self.placement.shown}"
        if self.basis == "per-gpu":
            return (
                f"{pods}{self.request.gpus} × {self.request.gpu_class} at the per-GPU price of gpus.yaml "
                "(no sourced instance price for its node shapes)"
            )
        return f"no node shape of {self.request.gpu_class} holds the pod"


@dataclass(frozen=True)
class ReplicaPrice:
    """A replica of one or more pod templates (a LeaderWorkerSet: leader and workers), each
    priced on its own whole nodes: a sum, so an upper bound where two templates of one
    request could share a node."""

    parts: tuple[GroupPrice, ...]

    @property
    def first(self) -> GroupPrice:
        return self.parts[0]

    @property
    def basis(self) -> str:
        return self.first.basis

    @property
    def placement(self) -> Placement | None:
        return self.first.placement

    @property
    def on_demand(self) -> float | None:
        """The marginal share per replica, on demand (nodes shared)."""
        return _total(p.on_demand for p in self.parts)

    @property
    def spot(self) -> float | None:
        return _total(p.spot for p in self.parts)

    def hour(self, replicas: int, spot: bool = False) -> float | None:
        return _total(p.hour(replicas, spot) for p in self.parts)

    def nodes(self, replicas: int, spot: bool = False) -> list[binpack.Nodes]:
        """The nodes of each template; templates of one request and shape whose pods take a
        node each are shown as one group (the same nodes, counted once)."""
        found = [n for n in (p.nodes(replicas, spot) for p in self.parts) if n is not None]
        merged: list[binpack.Nodes] = []
        for n in found:
            same = next(
                (m for m in merged if m.placement == n.placement and m.request == n.request),
                None,
            )
            joined = None if same is None else binpack.Nodes(n.placement, n.request, same.pods + n.pods)
            if same is not None and joined is not None and joined.count == same.count + n.count:
                merged[merged.index(same)] = joined
            else:
                merged.append(n)
        return merged

    @property
    def shown(self) -> str:
        first = self.first
        if len(self.parts) > 1 and all(
            p.placement == first.placement and p.request == first.request for p in self.parts
        ):
            pods = sum(p.pods for p in self.parts)
            return f"{pods} pods × {first.placement.shown}" if first.placement else first.shown
        return " + ".join(p.shown for p in self.parts)


def _total(values: Iterable[float | None]) -> float | None:
    found = list(values)
    return None if any(v is None for v in found) else sum(v or 0.0 for v in found)


def group_price(
    gpu: GpuClass,
    request: PodRequest,
    pods: int,
    offer: ClusterOffer,
    prices: PriceTable | None = None,
    spot: bool = False,
) -> GroupPrice:
    """``pods`` pods of ``request`` per replica on the cluster's priced shapes.  The marginal
    share (``on_demand``, ``spot``) is that of the cheapest share (with ``spot``: among the
    shapes with a sourced spot price, falling back to the on-demand one, whose spot price is
    then unknown); :meth:`GroupPrice.hour` places a replica count on whole nodes."""
    prices = prices or table()
    choices = tuple(binpack.placements(request, offer.shapes, prices, offer.clouds))
    found = (binpack.cheapest(request, offer.shapes, prices, offer.clouds, spot=True) if spot else None) or (
        choices[0] if choices else None
    )
    if found is not None:
        spot_hour = found.spot_per_pod_hour
        return GroupPrice(
            request,
            pods,
            found.per_pod_hour * pods,
            None if spot_hour is None else spot_hour * pods,
            "instance",
            found,
            choices,
        )
    if offer.shapes_of(gpu.name) and not binpack.holds_somewhere(request, offer.shapes, offer.clouds):
        return GroupPrice(request, pods, None, None, "no-shape")
    per_gpu_spot = gpu.spot_price_per_hour
    return GroupPrice(
        request,
        pods,
        gpu.price_per_hour * request.gpus * pods,
        None if per_gpu_spot is None else per_gpu_spot * request.gpus * pods,
        "per-gpu",
    )
