"""new-model's prices: the cluster it scaffolds for (``cluster.cloud``,
``cluster.node-shapes``), the hourly price of each candidate configuration as its share of
the instances that hold it (llmfleet.catalog.pricing), and the cost lines it prints."""

from __future__ import annotations

import math
from typing import Any

from llmfleet.catalog import sizing
from llmfleet.catalog.pricing.offer import (
    ClusterOffer,
    GroupPrice,
    group_price,
    offer_for,
    scaffold_pod_request,
)


def cluster_offer(config: Any) -> ClusterOffer:
    cluster = getattr(config, "cluster", None)
    return offer_for(
        getattr(cluster, "cloud", None) or None, tuple(getattr(cluster, "node_shapes", ()) or ())
    )


def replica_price(s: sizing.Sizing, offer: ClusterOffer) -> GroupPrice:
    """One replica of ``s``: ``pp`` pods (one per node) of ``tp`` GPUs each."""
    return group_price(s.gpu, scaffold_pod_request(s.gpu.name, s.tp), s.pp, offer)


#: Added to the price of a candidate priced per GPU (no sourced instance price on the
#: cluster's clouds): gpus.yaml's per-GPU figures are EC2's, so they rank a class only after
#: every candidate with a sourced instance price, never against one.
UNPRICED_RANK = 1e6


def price_function(offer: ClusterOffer) -> sizing.PriceOf:
    """The ordering key new-model sorts candidates by: the replica's instance price."""
    cache: dict[tuple[str, int, int], float] = {}

    def price_of(s: sizing.Sizing) -> float:
        key = (s.gpu.name, s.tp, s.pp)
        if key not in cache:
            found = replica_price(s, offer)
            if found.on_demand is None:
                cache[key] = math.inf
            else:
                cache[key] = found.on_demand + (UNPRICED_RANK if found.basis == "per-gpu" else 0.0)
        return cache[key]

    return price_of


def cost_lines(s: sizing.Sizing, offer: ClusterOffer, min_replicas: int, max_replicas: int) -> list[str]:
    from llmfleet.features.cost.estimate import money
    from llmfleet.features.cost.estimate import price as hourly

    price = replica_price(s, offer)
    if price.on_demand is None:
        return [f"price      unknown: {price.shown}"]
    lines = []
    for label, replicas in (("min", min_replicas), ("max", max_replicas)):
        hour = replicas * price.on_demand
        lines.append(
            f"cost {label}   {replicas} replica{'s' if replicas != 1 else ''} × {hourly(price.on_demand)}/h = "
            f"{hourly(hour)}/h, {money(hour * 24)}/day"
        )
    where = f"cluster.cloud {'/'.join(offer.clouds)}" if offer.clouds else "cheapest cloud of the catalog"
    lines.append(f"price      {price.shown} ({where})")
    if price.placement is not None:
        source = price.placement.price.source
        lines.append(f"           source: {source.basis}, {source.dated} ({source.url})")
    if price.spot is not None:
        spot_source = price.placement.price.spot_source if price.placement is not None else None
        if spot_source is None:
            where = "per-GPU spot price of gpus.yaml"
        elif price.placement is not None and spot_source is price.placement.price.source:
            where = "same source"
        else:
            where = f"{spot_source.basis}, {spot_source.dated} ({spot_source.url})"
        lines.append(f"           spot {money(price.spot)}/h per replica ({where})")
    return lines
