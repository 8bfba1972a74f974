"""Cost of the deployed models, what they can serve, and the break-even against a hosted API.

Per overlay, from its fleet model (``llmfleet.model``): the GPU class (its node selection,
any known GPU label), GPUs per replica (the pods' effective accelerator requests; a
LeaderWorkerSet group counts all its pods) and the replica range (the KEDA ScaledObject or HPA
that targets the workload, with KEDA's defaults; ``spec.replicas`` without one).  Replicas
are priced on whole nodes (llmfleet.catalog.pricing.offer): at a replica count, replicas x
pods per replica pods on ceil(pods / pods per node) nodes of the shape cheapest for that
count, so a lone replica on an 8-GPU node pays the whole node; ``--spot`` prices them at the
spot price of the shapes that have one.  A class without a sourced instance price falls back
to the per-GPU price of ``llmfleet/data/gpus.yaml``.  A pod's share of a node is shown only as
the marginal price of one more replica once the node is shared.  Overlays are priced each on
their own nodes: the fleet total is an upper bound where overlays of one GPU class could
share a node's free slots.

    self-hosted $/day = nodes at that replica count x instance $/h x 24
    API $/request     = (input tokens x $/M input + output tokens x $/M output) / 1e6
    API $/day         = requests/day x API $/request
    break-even        = self-hosted $/day at min replicas / API $/request   [requests/day]

**Capacity** (requests/day at max replicas): what the replicas serve when the autoscaler
holds them at their targets, max replicas x the throughput of one replica at the load where
its ScaledObject asks for another (the KV-cache-usage target: running sequences = target x
KV tokens / (input + output/2) tokens; a running-requests or request-rate target directly;
a queue target: the full batch), from the roofline replica model of the sizing
(``llmfleet.features.simulate.replica``, docs/reference/roofline.md: an upper bound, not a
measurement).  Without a target the model can read, the sizing's batch limit (every KV
token in use) is the capacity; the report says which.

The break-even is **reachable** when the replicas can serve it: break-even <= capacity at
max replicas.  Beyond that the report says "not reachable at max replicas: raise max
replicas to N" (N replicas at their target serve the break-even volume) and what those
replicas would cost: since the break-even is then above what min replicas serve at their
target, a replica costs more per request at its target than the API charges, so adding
replicas never makes self-hosting cheaper."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from llmfleet.catalog import entries as catalog
from llmfleet.catalog.entries import GpuClass
from llmfleet.infra.errors import UsageError
from llmfleet.model import OverlayModel, overlay_sizing

HOURS_PER_DAY = 24


#: The guide's hosted-API reference: GPT-4o-mini, USD per million tokens.
DEFAULT_API_INPUT_PRICE = 0.15


DEFAULT_API_OUTPUT_PRICE = 0.60


DEFAULT_REQUESTS_PER_DAY = 1000


DEFAULT_INPUT_TOKENS = 500


DEFAULT_OUTPUT_TOKENS = 200


def money(value: float) -> str:
    """$1,234.56; small amounts keep up to 6 decimals ($0.195, $0.000195)."""
    if abs(value) >= 1 or value == 0:
        return f"${value:,.2f}"
    text = f"{value:.6f}".rstrip("0")
    if len(text.split(".")[1]) < 2:
        text = f"{value:.2f}"
    return "$" + text


def number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


#: Replica counts above the minimum that the break-even search walks one by one.
EXACT_REPLICAS = 4096


@dataclass(frozen=True)
class ApiPricing:
    input_price: float = DEFAULT_API_INPUT_PRICE  # USD per million input tokens
    output_price: float = DEFAULT_API_OUTPUT_PRICE  # USD per million output tokens
    input_tokens: int = DEFAULT_INPUT_TOKENS  # per request
    output_tokens: int = DEFAULT_OUTPUT_TOKENS  # per request
    #: True: each overlay is compared with a hosted model of its size (api_prices.yaml),
    #: these prices only where its size is unknown.  ``size_class`` names the class used.
    by_size: bool = False
    size_class: str = ""

    def for_params(self, params: float | None) -> ApiPricing:
        """The API an overlay of ``params`` parameters is compared with."""
        if not self.by_size or not params:
            return self
        from llmfleet.catalog.pricing.api import for_params

        found = for_params(params)
        return ApiPricing(
            found.input,
            found.output,
            self.input_tokens,
            self.output_tokens,
            by_size=True,
            size_class=f"{found.name}, as {found.reference}",
        )

    @property
    def per_request(self) -> float:
        return (self.input_tokens * self.input_price + self.output_tokens * self.output_price) / 1e6

    def per_day(self, requests_per_day: float) -> float:
        return requests_per_day * self.per_request

    def arithmetic(self, requests_per_day: float) -> str:
        return (
            f"API: {number(requests_per_day)} req × ({self.input_tokens} in × "
            f"{money(self.input_price)} + {self.output_tokens} out × {money(self.output_price)})"
            f"/1e6 = {money(self.per_day(requests_per_day))}/day"
        )


def gpu_label(gpu: GpuClass | str) -> str:
    """``L4``, ``A100-80GB``: how the class is written in the arithmetic."""
    return (gpu.name if isinstance(gpu, GpuClass) else str(gpu)).upper()


def per_day(replicas: int, gpus_per_pod: int, price_per_hour: float) -> float:
    return replicas * gpus_per_pod * price_per_hour * HOURS_PER_DAY


def price(value: float) -> str:
    """A catalog price with all its digits (up to 4 decimals), so the arithmetic shown adds
    up: $3.4309, $0.8048, $6.88."""
    text = f"{value:,.4f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def per_day_arithmetic(replicas: int, gpus_per_pod: int, gpu: GpuClass) -> str:
    """``1 × L4 × $0.8048/h × 24 h = $19.32/day`` (replicas × GPUs folded when one is 1)."""
    count = replicas * gpus_per_pod
    head = (
        f"{count} × {gpu_label(gpu)}"
        if replicas == 1 or gpus_per_pod == 1
        else f"{replicas} replicas × {gpus_per_pod} × {gpu_label(gpu)}"
    )
    return (
        f"{head} × {price(gpu.price_per_hour)}/h × {HOURS_PER_DAY} h = "
        f"{money(per_day(replicas, gpus_per_pod, gpu.price_per_hour))}/day"
    )


def replica_arithmetic(replicas: int, hour: float) -> str:
    """``2 replicas × $4.6016/h × 24 h = $220.88/day``."""
    return (
        f"{replicas} replica{'s' if replicas != 1 else ''} × {price(hour)}/h × {HOURS_PER_DAY} h = "
        f"{money(replicas * hour * HOURS_PER_DAY)}/day"
    )


SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Capacity:
    """Requests per day one overlay serves at max replicas, and on what basis."""

    per_replica_rps: float  # one replica at the operating point
    max_replicas: int
    basis: str  # "autoscaling-target" or "sizing"
    detail: str  # which target (or the batch limit), and the batch it means
    full_per_replica_rps: float  # one replica at the sizing's batch limit (every KV token used)

    @property
    def per_replica_per_day(self) -> float:
        return self.per_replica_rps * SECONDS_PER_DAY

    @property
    def at_max_per_day(self) -> float:
        return self.per_replica_per_day * self.max_replicas

    @property
    def full_at_max_per_day(self) -> float:
        return self.full_per_replica_rps * SECONDS_PER_DAY * self.max_replicas

    def replicas_for(self, requests_per_day: float) -> int:
        return (
            max(1, math.ceil(requests_per_day / self.per_replica_per_day)) if self.per_replica_rps > 0 else 0
        )


def _capacity(replica: Any, spec: Any, max_replicas: int, input_tokens: int, output_tokens: int) -> Capacity:
    """The operating point of one replica under its ScaledObject's targets (module docstring)."""
    from llmfleet.features.simulate import spec as scaling

    tokens = input_tokens + output_tokens
    batch_limit = replica.batch_limit(input_tokens, output_tokens)
    full = replica.throughput(batch_limit, input_tokens, output_tokens)
    found: list[tuple[float, str]] = []
    for trigger in spec.triggers if spec is not None else ():
        kind, target = trigger.kind, trigger.target
        per_replica = trigger.metric_type == scaling.AVERAGE_VALUE or kind == scaling.KV_CACHE_USAGE
        if kind is None or not per_replica:
            continue
        if kind in (scaling.KV_CACHE_USAGE, scaling.KV_CACHE_USAGE_SUM):
            held = input_tokens + output_tokens / 2
            batch = min(float(batch_limit), target * replica.kv_tokens / held)
            found.append(
                (
                    replica.throughput(batch, input_tokens, output_tokens),
                    f"{trigger.name} target {target:g}: {batch:.1f} running requests per replica "
                    f"({target:g} x {replica.kv_tokens:,} KV tokens / {held:g} tokens held each)",
                )
            )
        elif kind == scaling.RUNNING:
            batch = min(float(batch_limit), target)
            found.append(
                (
                    replica.throughput(batch, input_tokens, output_tokens),
                    f"{trigger.name} target {target:g} running requests per replica",
                )
            )
        elif kind == scaling.REQUEST_RATE:
            found.append((min(target, full), f"{trigger.name} target {target:g} requests/s per replica"))
        elif kind == scaling.QUEUE:
            found.append(
                (
                    full,
                    f"{trigger.name} target {target:g} waiting: the full batch of "
                    f"{batch_limit} requests per replica runs first",
                )
            )
    if found:
        rps, detail = min(found, key=lambda item: item[0])
        return Capacity(rps, max_replicas, "autoscaling-target", detail, full)
    return Capacity(
        full,
        max_replicas,
        "sizing",
        f"the sizing's batch limit: {batch_limit} requests of {tokens} tokens per replica "
        "(no autoscaling target the replica model can read)",
        full,
    )


@dataclass
class OverlayCost:
    name: str
    gpu: GpuClass
    gpus_per_pod: int  # GPUs per replica (a LeaderWorkerSet group: all its pods)
    min_replicas: int
    max_replicas: int
    replicas_source: str = ""
    #: The roofline replica model and the ScaledObject's scaling settings (llmfleet.features.simulate),
    #: or None with the reason the capacity is unknown.
    replica: Any = None
    scaling: Any = None
    capacity_problem: str = ""
    #: "on-demand" or "spot": the price the figures use.
    pricing: str = "on-demand"
    #: The replicas' price on whole nodes (llmfleet.catalog.pricing.offer.ReplicaPrice);
    #: None: GPUs x the per-GPU price of gpus.yaml.
    replica_price: Any = None
    #: Parameters of the served model (for the API size class); None when unknown.
    params: float | None = None

    @property
    def spot_pricing(self) -> bool:
        return self.pricing == "spot"

    def hour(self, replicas: int, spot: bool | None = None) -> float | None:
        """$/h of ``replicas`` replicas on whole nodes (at spot with ``spot``, default: the
        report's pricing); GPUs x the per-GPU price without an instance price."""
        spot = self.spot_pricing if spot is None else spot
        rp = self.replica_price
        if rp is None:
            per_gpu = self.gpu.spot_price_per_hour if spot else self.gpu.price_per_hour
            return None if per_gpu is None else replicas * per_gpu * self.gpus_per_pod
        return rp.hour(replicas, spot)

    def nodes(self, replicas: int, spot: bool | None = None) -> list[Any]:
        """The whole nodes ``replicas`` replicas take (binpack.Nodes, one per pod template)."""
        rp = self.replica_price
        return [] if rp is None else rp.nodes(replicas, self.spot_pricing if spot is None else spot)

    def per_day_at(self, replicas: int) -> float:
        return (self.hour(replicas) or 0.0) * HOURS_PER_DAY

    @property
    def replica_hour(self) -> float | None:
        """The marginal price of one replica once its nodes are shared: its pods' share of
        the node (== the whole node when a node holds one pod)."""
        rp = self.replica_price
        if rp is None:
            per_gpu = self.gpu.spot_price_per_hour if self.pricing == "spot" else self.gpu.price_per_hour
            return None if per_gpu is None else per_gpu * self.gpus_per_pod
        return rp.spot if self.pricing == "spot" else rp.on_demand

    @property
    def price_per_gpu_hour(self) -> float | None:
        """The marginal price per GPU (the replica's share of the node / its GPUs)."""
        hour = self.replica_hour
        return None if hour is None else hour / self.gpus_per_pod

    @property
    def price_shown(self) -> str:
        rp = self.replica_price
        return (
            rp.shown
            if rp is not None
            else f"{self.gpus_per_pod} × {self.gpu.name} at the per-GPU price of gpus.yaml"
        )

    @property
    def priced(self) -> bool:
        return self.hour(self.min_replicas) is not None

    def _hour(self, replicas: int) -> float:
        return self.hour(replicas) or 0.0

    @property
    def per_hour_min(self) -> float:
        return self._hour(self.min_replicas)

    @property
    def per_hour_max(self) -> float:
        return self._hour(self.max_replicas)

    @property
    def per_day_min(self) -> float:
        return self.per_hour_min * HOURS_PER_DAY

    @property
    def per_day_max(self) -> float:
        return self.per_hour_max * HOURS_PER_DAY

    @property
    def spot_replica_hour(self) -> float | None:
        rp = self.replica_price
        if rp is None:
            spot = self.gpu.spot_price_per_hour
            return None if spot is None else spot * self.gpus_per_pod
        return rp.spot

    def spot_per_day(self, replicas: int) -> float | None:
        """Spot $/day of ``replicas`` replicas on whole nodes: with ``--spot``, the nodes
        cheapest at spot; in an on-demand report, the same nodes as on demand at their spot
        price (None when one has none)."""
        if self.spot_pricing or self.replica_price is None:
            hour = self.hour(replicas, spot=True)
        else:
            nodes = self.nodes(replicas, spot=False)
            spots = [n.spot for n in nodes]
            hour = None if not nodes or any(x is None for x in spots) else sum(x or 0.0 for x in spots)
        return None if hour is None else hour * HOURS_PER_DAY

    @property
    def free_slots(self) -> bool:
        """Whether the nodes at min or max replicas have a free slot (another overlay of the
        class could use it: the per-overlay figures are then an upper bound)."""
        return any(n.free_slots > 0 for r in (self.min_replicas, self.max_replicas) for n in self.nodes(r))

    def api_for(self, api: ApiPricing) -> ApiPricing:
        return api.for_params(self.params)

    def capacity(self, api: ApiPricing) -> Capacity | None:
        if self.replica is None:
            return None
        return _capacity(self.replica, self.scaling, self.max_replicas, api.input_tokens, api.output_tokens)

    def break_even(self, api: ApiPricing) -> float | None:
        """Requests/day at which the API costs as much as the minimum self-hosted fleet."""
        api = self.api_for(api)
        if api.per_request <= 0 or not self.priced:
            return None
        return self.per_day_min / api.per_request

    def cost_at(self, requests_per_day: float, api: ApiPricing) -> float | None:
        """Self-hosted $/day at this volume: the replicas the autoscaler runs for it at their
        target (at least min replicas); None above capacity at max replicas or unknown."""
        api = self.api_for(api)
        cap = self.capacity(api)
        if cap is None or requests_per_day > cap.at_max_per_day + 1e-6:
            return None
        return self.per_day_at(max(self.min_replicas, cap.replicas_for(requests_per_day)))

    def verdict(self, api: ApiPricing) -> dict[str, Any]:
        """Break-even, capacity and reachability, as numbers (text, JSON and chart read this).

        ``status``: ``reachable`` (min replicas serve the break-even volume at their target:
        self-hosting is cheaper from there), ``api-cheaper`` (the replicas could serve it, but
        the autoscaler would run more than min replicas for it and a replica at its target
        costs more per request than the API: no volume makes self-hosting cheaper),
        ``not-reachable`` (above the capacity at max replicas, and api-cheaper as well), or
        None when the capacity or the price is unknown."""
        api = self.api_for(api)
        be = self.break_even(api)
        cap = self.capacity(api)
        out: dict[str, Any] = {
            "break_even": be,
            "capacity": cap,
            "reachable": None,
            "status": None,
            "replicas_for_break_even": None,
            "cost_per_request_at_target": None,
            "cost_at_break_even_replicas": None,
            "self_hosted_cheaper_from": None,
        }
        if cap is None or be is None or cap.per_replica_rps <= 0:
            return out
        marginal = (self.replica_hour or 0.0) * HOURS_PER_DAY
        out["cost_per_request_at_target"] = marginal / cap.per_replica_per_day
        out["self_hosted_cheaper_from"] = self._cheaper_from(api, cap)
        replicas = cap.replicas_for(be)
        out["replicas_for_break_even"] = replicas
        out["cost_at_break_even_replicas"] = self.per_day_at(max(replicas, self.min_replicas))
        if be <= self.min_replicas * cap.per_replica_per_day:
            out["reachable"], out["status"] = True, "reachable"
        elif be <= cap.at_max_per_day:
            out["reachable"], out["status"] = False, "api-cheaper"
        else:
            out["reachable"], out["status"] = False, "not-reachable"
        return out

    def _cheaper_from(self, api: ApiPricing, cap: Capacity) -> tuple[float, int] | None:
        """The lowest volume (requests/day) at which self-hosting costs no more than the API,
        and the replicas the autoscaler runs there, up to max replicas; None when the API is
        cheaper at every volume the replicas serve.  The self-hosted cost is a step: n
        replicas (whole nodes) for volumes in ((n-1) x capacity, n x capacity]."""
        unit = cap.per_replica_per_day
        if api.per_request <= 0 or unit <= 0:
            return None

        def at(n: int) -> tuple[float, int] | None:
            low = 0.0 if n == self.min_replicas else (n - 1) * unit
            volume = max(low, self.per_day_at(n) / api.per_request)
            return (volume, n) if volume <= n * unit + 1e-6 else None

        # Every replica count up to EXACT_REPLICAS above the minimum; beyond that the rounding
        # to whole nodes is under one node in thousands of replicas (the cost is as good as
        # monotone), so doubling counts, then bisecting, find the step without walking up to a
        # max of 2**31 one by one.
        last = min(self.max_replicas, self.min_replicas + EXACT_REPLICAS)
        for n in range(self.min_replicas, last + 1):
            if (found := at(n)) is not None:
                return found
        failed = last
        while failed < self.max_replicas:
            n = min(self.max_replicas, failed * 2)
            if at(n) is None:
                failed = n
                continue
            while n - failed > 1:  # the first count in (failed, n] that is cheaper
                middle = (failed + n) // 2
                failed, n = (failed, middle) if at(middle) is not None else (middle, n)
            return at(n)
        return None

    def cheaper_at(self, requests_per_day: float, api: ApiPricing) -> str | None:
        """ "api" or "self-hosted" at this volume: the replicas the autoscaler runs for it
        against the API's bill (the API when the replicas cannot serve it); without a
        capacity, the flat min-replica cost against the API."""
        api = self.api_for(api)
        be = self.break_even(api)
        if be is None:
            return "api" if api.per_request <= 0 else None
        if self.capacity(api) is None:
            return "api" if requests_per_day < be else "self-hosted"
        there = self.cost_at(requests_per_day, api)
        if there is None:
            return "api"
        return "self-hosted" if there <= api.per_day(requests_per_day) else "api"

    def to_json(self, api: ApiPricing, requests_per_day: float) -> dict:
        v = self.verdict(api)
        be, cap = v["break_even"], v["capacity"]
        serve_cost = self.cost_at(requests_per_day, api)
        cheaper = self.cheaper_at(requests_per_day, api)
        return {
            "overlay": self.name,
            "gpu_class": self.gpu.name,
            "gpus_per_pod": self.gpus_per_pod,
            "gpus_per_replica": self.gpus_per_pod,
            "pricing": self.pricing,
            "marginal_price_per_gpu_hour": _round(self.price_per_gpu_hour),
            "marginal_price_per_replica_hour": _round(self.replica_hour),
            **self._price_facts(),
            "marginal_spot_price_per_gpu_hour": _round(
                None if self.spot_replica_hour is None else self.spot_replica_hour / self.gpus_per_pod
            ),
            "nodes_min": [_nodes_json(n) for n in self.nodes(self.min_replicas)],
            "nodes_max": [_nodes_json(n) for n in self.nodes(self.max_replicas)],
            "api": {
                "input_price_per_million": self.api_for(api).input_price,
                "output_price_per_million": self.api_for(api).output_price,
                "size_class": self.api_for(api).size_class or None,
            },
            "spot_per_day_min": _round(self.spot_per_day(self.min_replicas)),
            "spot_per_day_max": _round(self.spot_per_day(self.max_replicas)),
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "replicas_source": self.replicas_source,
            "per_hour_min": round(self.per_hour_min, 6),
            "per_hour_max": round(self.per_hour_max, 6),
            "per_day_min": round(self.per_day_min, 6),
            "per_day_max": round(self.per_day_max, 6),
            "capacity": None
            if cap is None
            else {
                "requests_per_day_at_max_replicas": round(cap.at_max_per_day, 1),
                "requests_per_day_per_replica": round(cap.per_replica_per_day, 1),
                "basis": cap.basis,
                "detail": cap.detail,
                "full_load_requests_per_day_at_max_replicas": round(cap.full_at_max_per_day, 1),
                "model": _basis_text(self.replica),
            },
            "capacity_unknown_because": self.capacity_problem or None if cap is None else None,
            "break_even_requests_per_day": None if be is None else round(be, 3),
            "break_even_reachable": v["reachable"],
            "break_even_status": v["status"],
            "replicas_for_break_even": v["replicas_for_break_even"],
            "cost_per_request_at_target": _round(v["cost_per_request_at_target"], 9),
            "self_hosted_cheaper_from_requests_per_day": None
            if v["self_hosted_cheaper_from"] is None
            else round(v["self_hosted_cheaper_from"][0], 3),
            "per_day_at_requests_per_day": _round(serve_cost),
            "serves_requests_per_day": None if cap is None else requests_per_day <= cap.at_max_per_day,
            "cheaper_at_requests_per_day": cheaper,
        }

    @property
    def spot_source_shown(self) -> str:
        """Where the spot price comes from and the date of its prices ("" without one)."""
        placement = getattr(self.replica_price, "placement", None)
        if placement is not None:
            source = placement.price.spot_source
            return "" if source is None else f"{source.basis}, {source.dated} ({source.url})"
        if self.gpu.spot_price_per_hour is None:
            return ""
        return f"per GPU, gpus.yaml, dated {self.gpu.spot_price_date}: {self.gpu.spot_price_source}"

    def _price_facts(self) -> dict[str, Any]:
        """Where the price comes from: the instance the pod is packed onto, or gpus.yaml."""
        rp = self.replica_price
        placement = getattr(rp, "placement", None)
        if placement is None:
            return {
                "price_basis": catalog.price_basis() + " (per GPU)",
                "price_instance": self.gpu.price_instance,
                "price_date": self.gpu.price_date,
                "price_source": self.gpu.price_source,
                "pods_per_node": None,
                "spot_price_basis": None if self.gpu.spot_price_per_hour is None else "per GPU, gpus.yaml",
                "spot_price_date": self.gpu.spot_price_date or None,
                "spot_price_source": self.gpu.spot_price_source or None,
            }
        source = placement.price.source
        spot_source = placement.price.spot_source
        return {
            "price_basis": f"whole nodes: {source.basis}",
            "price_instance": f"{placement.shape.name} ({placement.price.where})",
            "price_date": source.price_date,
            "price_source": source.url,
            "pods_per_node": placement.pods_per_node,
            "spot_price_basis": None if spot_source is None else spot_source.basis,
            "spot_price_date": None if spot_source is None else spot_source.price_date,
            "spot_price_source": None if spot_source is None else spot_source.url,
        }


def _nodes_json(nodes: Any) -> dict[str, Any]:
    return {
        "instance": nodes.placement.shape.name,
        "count": nodes.count,
        "pods": nodes.pods,
        "slots": nodes.slots,
        "free_slots": nodes.free_slots,
        "idle_gpus": nodes.idle_gpus,
        "per_hour_on_demand": round(nodes.on_demand, 6),
        "per_hour_spot": _round(nodes.spot),
    }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def overlay_cost(
    model: OverlayModel, offer: Any = None, spot: bool = False, directory: Any = None
) -> OverlayCost | None:
    """Cost facts of one overlay; None when it holds no accelerator workload.  ``offer``:
    the cluster's clouds and node shapes (llmfleet.catalog.pricing.offer; default: every cloud);
    ``directory``: the overlay's folder, whose capacity.yaml may hold a measured capacity."""
    name = model.name
    uses = model.accelerator_uses
    if not uses:
        return None
    if len(uses) > 1:
        raise UsageError(
            f"{name}: {len(uses)} accelerator workloads "
            f"({', '.join(u.workload.resource.ref for u in uses)}); cost reads one per overlay"
        )
    use = uses[0]
    if not use.classes:
        raise UsageError(
            f"{name}: the GPU pods of {use.workload.resource.ref} select no GPU class "
            "(node affinity or nodeSelector on a GPU label), so their price is unknown"
        )
    if len(use.classes) > 1:
        raise UsageError(
            f"{name}: the pod may land on several GPU classes ({', '.join(use.classes)}); cost needs one"
        )
    gpu = catalog.find_gpu(use.classes[0])
    if gpu is None:
        raise UsageError(
            f"{name}: GPU class {use.classes[0]!r} is not in the catalog "
            f"(known: {', '.join(catalog.gpu_names())})"
        )
    if use.replicas.minimum is None or use.replicas.maximum is None:
        raise UsageError(
            f"{name}: the replica count of {use.workload.resource.ref} cannot be told ({use.replicas.source})"
        )
    found = OverlayCost(
        name, gpu, use.per_replica_max, use.replicas.minimum, use.replicas.maximum, use.replicas.source
    )
    found.replica_price = _replica_price(model, use, gpu, offer, spot)
    servers = [s for s in model.api_servers if s.workload is use.workload]
    spec_model = overlay_sizing.spec_for(servers[0]) if servers else None
    found.params = spec_model.params if spec_model is not None else None
    _attach_replica_model(found, model, use, directory)
    return found


def _replica_price(model: OverlayModel, use: Any, gpu: GpuClass, offer: Any, spot: bool = False) -> Any:
    """The replica's pod templates, each on its own whole nodes (ReplicaPrice)."""
    from llmfleet.catalog.pricing.binpack import PodRequest
    from llmfleet.catalog.pricing.offer import GroupPrice, ReplicaPrice, group_price, offer_for

    offer = offer or offer_for(None)
    parts: list[GroupPrice] = []
    for template in use.workload.templates:
        units = model.pod_accelerators(template).get(use.resource_name, 0)
        if units <= 0:
            continue
        request = PodRequest(
            gpu.name, units, template.effective_request("cpu"), template.effective_request("memory")
        )
        parts.append(group_price(gpu, request, template.pods_max, offer, spot=spot))
    return ReplicaPrice(tuple(parts)) if parts else None


def _attach_replica_model(found: OverlayCost, model: OverlayModel, use: Any, directory: Any = None) -> None:
    """The replica model (measured, else calibrated: simulate's basis) and scaling settings of
    the overlay's vLLM server, from the same inputs `llmfleet simulate` uses; the reason when
    there are none."""
    from llmfleet.features.simulate.overlay import OverlayInputError, inputs_for
    from llmfleet.features.simulate.replica import ReplicaModelError
    from llmfleet.features.simulate.spec import SpecError

    try:
        inputs = inputs_for(model, directory)
    except OverlayInputError as exc:
        found.capacity_problem = str(exc)
        servers = [s for s in model.api_servers if s.workload is use.workload]
        if not servers:
            return
        _attach_sizing_only(found, model, servers[0])
        return
    except (ReplicaModelError, SpecError, ValueError) as exc:
        found.capacity_problem = f"the replica model cannot be built: {exc}"
        return
    first = inputs[0]
    found.replica, found.scaling = first.replica, first.spec


def _attach_sizing_only(found: OverlayCost, model: OverlayModel, server: Any) -> None:
    """No ScaledObject to simulate (spec.replicas, an HPA): the sizing alone, when the model
    and class are catalogued."""
    from llmfleet.catalog import sizing
    from llmfleet.features.simulate.adapters import replica_from_sizing

    spec_model = overlay_sizing.spec_for(server)
    tp, pp = server.tensor_parallel, server.pipeline_parallel
    if spec_model is None or not tp or not pp:
        return
    length = server.int_value("max-model-len", spec_model.context) or spec_model.context
    try:
        size = sizing.size(
            spec_model,
            found.gpu,
            tp,
            server.value("quantization") or spec_model.quantization,
            str(server.value("kv-cache-dtype") or "auto"),
            float(server.value("gpu-memory-utilization", sizing.DEFAULT_GPU_MEMORY_UTILIZATION)),
            pp,
        )
        found.replica = replica_from_sizing(size, length, load_s=0.0, name=found.name)
        found.capacity_problem = ""
    except (UsageError, ValueError):
        return


def _basis_text(replica: Any) -> str:
    """Where a replica's speed comes from (llmfleet.features.simulate.capacity)."""
    return {
        "measured": "measured by llmfleet calibrate (capacity.yaml)",
        "calibrated": "calibrated on published vLLM measurements (docs/reference/calibration.md)",
    }.get(
        getattr(replica, "basis", "roofline"),
        "roofline estimate (docs/reference/roofline.md): an upper bound",
    )
