"""new-model's prices: the cluster it scaffolds for (``cluster.cloud``,
``cluster.node-shapes``), the hourly price of each candidate configuration at the
scaffold's minimum replica count on whole nodes (llmfleet.catalog.pricing: one replica on an
8-GPU node pays the whole node), and the cost lines it prints."""

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


def price_function(offer: ClusterOffer, min_replicas: int = 1) -> sizing.PriceOf:
    """The ordering key new-model sorts candidates by: what ``min_replicas`` replicas cost
    on the whole nodes cheapest for that count (the replicas always running)."""
    cache: dict[tuple[str, int, int], float] = {}
    count = max(1, min_replicas)

    def price_of(s: sizing.Sizing) -> float:
        key = (s.gpu.name, s.tp, s.pp)
        if key not in cache:
            found = replica_price(s, offer)
            hour = found.hour(count)
            if hour is None:
                cache[key] = math.inf
            else:
                cache[key] = hour + (UNPRICED_RANK if found.basis == "per-gpu" else 0.0)
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
        hour = price.hour(replicas) or 0.0
        count = f"{replicas} replica{'s' if replicas != 1 else ''}"
        nodes = price.nodes(replicas)
        if nodes is None:
            lines.append(
                f"cost {label}   {count} × {hourly(price.on_demand)}/h = {hourly(hour)}/h, {money(hour * 24)}/day"
            )
            continue
        lines.append(
            f"cost {label}   {count} on {nodes.shown} = {hourly(hour)}/h, {money(hour * 24)}/day; "
            f"{nodes.slots_shown}"
        )
    where = f"cluster.cloud {'/'.join(offer.clouds)}" if offer.clouds else "cheapest cloud of the catalog"
    if price.placement is not None:
        if price.placement.pods_per_node > 1:
            lines.append(
                f"marginal   {hourly(price.on_demand)}/h per replica once its node is shared: "
                f"{price.shown} ({where})"
            )
        else:
            lines.append(f"instance   {price.shown} ({where})")
        source = price.placement.price.source
        lines.append(f"           source: {source.basis}, {source.dated} ({source.url})")
    else:
        lines.append(f"price      {price.shown} ({where})")
    spot_min = price.hour(min_replicas, spot=True)
    if spot_min is not None:
        spot_nodes = price.nodes(min_replicas, spot=True)
        spot_source = spot_nodes.placement.price.spot_source if spot_nodes is not None else None
        if spot_nodes is None:
            where = "per-GPU spot price of gpus.yaml"
        elif price.placement is not None and spot_source is price.placement.price.source:
            where = "same source"
        elif spot_source is not None:
            where = f"{spot_source.basis}, {spot_source.dated} ({spot_source.url})"
        on = f" on {spot_nodes.shown.split(' (')[0]}" if spot_nodes is not None else ""
        lines.append(f"           spot {hourly(spot_min)}/h at min replicas{on} ({where})")
    return lines
