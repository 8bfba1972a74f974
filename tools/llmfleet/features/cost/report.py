"""The cost report: options, the text and JSON formats, the chart file, and the run over a repository's overlays."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from llmfleet.catalog import entries as catalog
from llmfleet.features.cost.estimate import (
    DEFAULT_API_INPUT_PRICE,
    DEFAULT_API_OUTPUT_PRICE,
    DEFAULT_INPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_REQUESTS_PER_DAY,
    HOURS_PER_DAY,
    ApiPricing,
    Capacity,
    OverlayCost,
    _basis_text,
    money,
    number,
    overlay_cost,
    price,
    replica_arithmetic,
)
from llmfleet.infra.errors import UsageError


def _replicas_line(c: OverlayCost, label: str, replicas: int, spot: bool) -> str:
    """``min: 2 replicas on 1 node of p4de.24xlarge (...) × 24 h = $658.73/day (...); 0 of 2 ...``"""
    hour = c.hour(replicas, spot) or 0.0
    nodes = c.nodes(replicas, spot)
    pricing = "spot" if spot else "on-demand"
    if not nodes:
        return f"  {label}: {replica_arithmetic(replicas, hour / replicas if replicas else 0.0)} ({pricing})"
    count = f"{replicas} replica{'s' if replicas != 1 else ''}"
    placed = " + ".join(n.text(spot) for n in nodes)
    slots = "; ".join(n.slots_shown for n in nodes)
    return (
        f"  {label}: {count} on {placed} × {HOURS_PER_DAY} h = {money(hour * HOURS_PER_DAY)}/day "
        f"({price(hour)}/h, {pricing}); {slots}"
    )


@dataclass
class CostOptions:
    overlays: list[str] = field(default_factory=list)
    requests_per_day: float = DEFAULT_REQUESTS_PER_DAY
    input_tokens: int = DEFAULT_INPUT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    #: None (both): each overlay against a hosted model of its size (api_prices.yaml).
    api_input_price: float | None = None
    api_output_price: float | None = None
    fmt: str = "text"
    plot: str | None = None
    spot: bool = False

    @property
    def api(self) -> ApiPricing:
        by_size = self.api_input_price is None and self.api_output_price is None
        return ApiPricing(
            DEFAULT_API_INPUT_PRICE if self.api_input_price is None else self.api_input_price,
            DEFAULT_API_OUTPUT_PRICE if self.api_output_price is None else self.api_output_price,
            self.input_tokens,
            self.output_tokens,
            by_size=by_size,
        )

    def validate(self) -> None:
        for label, value in (
            ("--requests-per-day", self.requests_per_day),
            ("--input-tokens", self.input_tokens),
            ("--output-tokens", self.output_tokens),
            ("--api-input-price", self.api_input_price),
            ("--api-output-price", self.api_output_price),
        ):
            if value is None and label.startswith("--api-"):
                continue
            if value is None or not math.isfinite(value) or value < 0:
                raise UsageError(f"{label} {value}: must be a number >= 0")
        if self.input_tokens + self.output_tokens <= 0 or self.output_tokens <= 0:
            raise UsageError("--output-tokens: a request produces at least one token")
        if self.fmt not in ("text", "json"):
            raise UsageError(f"--format {self.fmt}: text or json")


def self_min(c: OverlayCost, cap: Capacity) -> float:
    """Requests/day the min replicas serve at their target."""
    return c.min_replicas * cap.per_replica_per_day


def _capacity_text(c: OverlayCost, api: ApiPricing) -> str:
    cap = c.capacity(api)
    if cap is None:
        return f"  capacity: unknown ({c.capacity_problem or 'no sizing for this model and GPU class'})"
    basis = "at its autoscaling target" if cap.basis == "autoscaling-target" else "from the sizing"
    return (
        f"  capacity: {number(cap.at_max_per_day)} requests/day at max replicas ({c.max_replicas} × "
        f"{number(cap.per_replica_per_day)}, {basis}: {cap.detail}; "
        f"{api.input_tokens}+{api.output_tokens} tokens per request, {_basis_text(c.replica)}); "
        f"{number(cap.full_at_max_per_day)}/day with every KV token in use"
    )


def _break_even_text(c: OverlayCost, api: ApiPricing, requests_per_day: float) -> list[str]:
    api = c.api_for(api)
    per_request = api.per_request
    if not c.priced:
        return [f"  break-even: none (no sourced {c.pricing} price for its instance)"]
    v = c.verdict(api)
    be = v["break_even"]
    if be is None:
        return ["  break-even: none (the API is free at these prices)"]
    arithmetic = f"{money(c.per_day_min)}/day ÷ {money(per_request)}/request = {number(be)} requests/day"
    cap = v["capacity"]
    lines: list[str] = []
    replicas = v["replicas_for_break_even"]
    at_target = v["cost_per_request_at_target"]
    cheaper_from = v["self_hosted_cheaper_from"]
    if cheaper_from is None:
        even_then = (
            f"a replica at its target costs {money(at_target or 0.0)}/request even with its nodes "
            f"shared, the API {money(per_request)}: more replicas never catch up, the API is cheaper "
            "at every volume the replicas serve"
        )
    else:
        even_then = (
            f"but the nodes of min replicas have free slots: from {number(cheaper_from[0])} "
            f"requests/day ({cheaper_from[1]} replicas on the same nodes) self-hosting is cheaper"
        )
    if v["status"] == "not-reachable":
        lines.append(
            f"  break-even: not reachable at max replicas: raise max replicas to {replicas} "
            f"({arithmetic}, above the {number(cap.at_max_per_day)} requests/day that "
            f"{c.max_replicas} replica{'s' if c.max_replicas != 1 else ''} serve)"
        )
        lines.append(
            f"    and even then: {replicas} replicas cost {money(v['cost_at_break_even_replicas'])}/day "
            f"at that volume, the API {money(c.per_day_min)}/day; {even_then}"
        )
    elif v["status"] == "api-cheaper":
        lines.append(
            f"  break-even: none ({arithmetic} at min replicas, but serving that needs {replicas} "
            f"replicas, {money(v['cost_at_break_even_replicas'])}/day; {even_then})"
        )
    elif v["status"] == "reachable":
        lines.append(
            f"  break-even: {arithmetic}, within what min replicas serve "
            f"({number(self_min(c, cap))} requests/day; {number(cap.at_max_per_day)} at max replicas)"
        )
    else:
        lines.append(f"  break-even: {arithmetic} (reachability unknown: capacity unknown)")
    if cap is not None and requests_per_day > cap.at_max_per_day:
        lines.append(
            f"  at {number(requests_per_day)} requests/day: more than the overlay serves at max "
            f"replicas; it would need {cap.replicas_for(requests_per_day)} replicas"
        )
    elif c.cheaper_at(requests_per_day, api) == "self-hosted":
        there = c.cost_at(requests_per_day, api)
        shown = (
            f" ({money(there)}/day against the API's {money(api.per_day(requests_per_day))})"
            if there is not None
            else ""
        )
        lines.append(f"  at {number(requests_per_day)} requests/day self-hosted is cheaper{shown}")
    else:
        lines.append(f"  at {number(requests_per_day)} requests/day the API is cheaper")
    return lines


def format_text(
    costs: list[OverlayCost], api: ApiPricing, requests_per_day: float, skipped: list[str] | None = None
) -> str:
    out: list[str] = []
    per_request = api.per_request
    if api.by_size:
        from llmfleet.catalog.pricing.api import classes

        source = classes()[0]
        out.append(
            f"API: per overlay, a hosted model of its size ({api.input_tokens} in + {api.output_tokens} "
            f"out tokens per request; tools/llmfleet/data/api_prices.yaml, read {source.read}: {source.source_url})"
        )
    else:
        out.append(api.arithmetic(requests_per_day))
        out.append(
            f"     per request: ({api.input_tokens} × {money(api.input_price)} + "
            f"{api.output_tokens} × {money(api.output_price)})/1e6 = {money(per_request)}"
        )
    spot = any(c.pricing == "spot" for c in costs)
    out.append(
        "Prices: "
        + ("spot, where the instance has a sourced spot price; " if spot else "on demand; ")
        + "whole nodes: at each replica count, the pods on the fewest nodes of the shape cheapest "
        "for that count that holds their GPUs, CPU and memory; 'marginal' is one more replica's share "
        "of a node once its slots are shared "
        "(tools/llmfleet/data/instance_prices.yaml, node_shapes.yaml; cluster.cloud in llmfleet.yaml)"
    )
    for c in costs:
        out.append("")
        out.append(
            f"{c.name}: {c.gpus_per_pod} × {c.gpu.name} per replica ({c.gpu.display}); "
            f"replicas {c.min_replicas}-{c.max_replicas} ({c.replicas_source})"
        )
        if c.hour(c.min_replicas) is not None:
            for label, replicas in (("min", c.min_replicas), ("max", c.max_replicas)):
                out.append(_replicas_line(c, label, replicas, c.spot_pricing))
        else:
            out.append(f"  {c.pricing}: no sourced {c.pricing} price for this replica")
        marginal = c.replica_hour
        placement = getattr(c.replica_price, "placement", None)
        if marginal is not None and placement is not None and placement.pods_per_node > 1:
            out.append(
                f"  marginal: {price(marginal)}/h per replica once its node is shared ({c.price_shown})"
            )
        else:
            out.append(f"  price: {c.price_shown}")
        if c.spot_replica_hour is not None and c.spot_source_shown:
            out.append(f"  spot source: {c.spot_source_shown}")
        if c.pricing == "on-demand":
            spot_min, spot_max = c.spot_per_day(c.min_replicas), c.spot_per_day(c.max_replicas)
            each = ", ".join(
                f"{n.placement.shape.name} ${n.placement.price.spot:,.4f}/h"
                for n in c.nodes(c.min_replicas)
                if n.placement.price.spot is not None
            )
            out.append(
                f"  spot: {money(spot_min)}/day at min, {money(spot_max or 0.0)}/day at max"
                + (f" (the same nodes at spot: {each})" if each else "")
                if spot_min is not None
                else "  spot: no sourced spot price for this instance"
            )
        own = c.api_for(api)
        if own.size_class:
            out.append(
                f"  hosted API of its size ({own.size_class}): {money(own.input_price)} in / "
                f"{money(own.output_price)} out per million tokens = {money(own.per_request)}/request"
            )
        out.append(_capacity_text(c, api))
        out += _break_even_text(c, api, requests_per_day)
    if len(costs) > 1:
        out.append("")
        low = sum(c.per_day_min for c in costs)
        high = sum(c.per_day_max for c in costs)
        shared = _shareable(costs)
        out.append(
            f"fleet: {money(low)}/day at min replicas, {money(high)}/day at max replicas "
            f"({len(costs)} overlays, each on its own nodes"
            + (
                f"; an upper bound: {', '.join(shared)} could share free slots of their nodes)"
                if shared
                else ")"
            )
        )
    for name in skipped or []:
        out.append(f"note: {name}: no GPU workload, not priced")
    return "\n".join(out) + "\n"


def _shareable(costs: list[OverlayCost]) -> list[str]:
    """GPU classes where two overlays leave free slots that another could fill: there the
    per-overlay whole-node figures overstate the fleet (they are not packed together)."""
    by_class: dict[str, list[OverlayCost]] = {}
    for c in costs:
        by_class.setdefault(c.gpu.name, []).append(c)
    return [
        f"the {name} overlays ({', '.join(c.name for c in group)})"
        for name, group in sorted(by_class.items())
        if len(group) > 1 and any(c.free_slots for c in group)
    ]


def format_json(
    costs: list[OverlayCost], api: ApiPricing, requests_per_day: float, skipped: list[str] | None = None
) -> str:
    doc = {
        "assumptions": {
            "hours_per_day": HOURS_PER_DAY,
            "requests_per_day": requests_per_day,
            "input_tokens": api.input_tokens,
            "output_tokens": api.output_tokens,
            "api_input_price_per_million": None if api.by_size else api.input_price,
            "api_output_price_per_million": None if api.by_size else api.output_price,
            "api_prices": "by model size class (tools/llmfleet/data/api_prices.yaml)"
            if api.by_size
            else "as given",
            "gpu_price_basis": "whole nodes: at min and max replicas, ceil(pods / pods per node) nodes "
            "of the instance cheapest for that count (tools/llmfleet/data/instance_prices.yaml); "
            "marginal_* figures are one replica's share of a node once it is shared; gpus.yaml's "
            "per-GPU price where no instance price is sourced: " + catalog.price_basis(),
            "fleet_total": "each overlay on its own nodes: an upper bound where overlays of one GPU "
            "class could share free slots",
            "capacity_model": "replica model at each ScaledObject's targets: measured (capacity.yaml), "
            "else calibrated (docs/reference/calibration.md); each overlay's capacity.model says which",
        },
        "api": {"per_request": None, "per_day": None, "by_size": True}
        if api.by_size
        else {"per_request": round(api.per_request, 9), "per_day": round(api.per_day(requests_per_day), 6)},
        "overlays": [c.to_json(api, requests_per_day) for c in costs],
        "total": {
            "per_day_min": round(sum(c.per_day_min for c in costs), 6),
            "per_day_max": round(sum(c.per_day_max for c in costs), 6),
        },
        "skipped": list(skipped or []),
    }
    return json.dumps(doc, indent=2) + "\n"


def plot(costs: list[OverlayCost], api: ApiPricing, requests_per_day: float, path: str | Path) -> Path:
    """Write the chart of :mod:`llmfleet.features.cost.chart` as a PNG (atomically)."""
    from llmfleet.infra.output import output_target

    path = output_target(path, "--plot")
    if path.parent and not path.parent.exists():
        raise UsageError(f"--plot {path}: folder {path.parent} does not exist")
    from llmfleet.features.cost import chart as cost_chart

    fig = cost_chart.build(costs, api, requests_per_day)
    try:
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format="png", dpi=cost_chart.DPI, bbox_inches="tight")
        tmp.replace(path)
    finally:
        cost_chart.close(fig)
    return path


def run_cost(config, options: CostOptions) -> str:
    """Render the overlays, price them and return the formatted report (writes --plot)."""
    from llmfleet.pipeline.runner import iter_overlay_models

    options.validate()
    directories = (
        [config.resolve_overlay_arg(raw) for raw in options.overlays]
        if options.overlays
        else config.overlay_dirs()
    )
    if not directories:
        raise UsageError(f"no overlays under {config.overlays_path}")
    from llmfleet.features.scaffold.pricing import cluster_offer

    offer = cluster_offer(config)
    costs: list[OverlayCost] = []
    skipped: list[str] = []
    for loaded, model in iter_overlay_models(config, directories=directories):
        if loaded.findings and not loaded.resources:
            raise UsageError(f"{loaded.name}: {loaded.findings[0].message}")
        found = overlay_cost(model, offer, spot=options.spot, directory=loaded.target.path)
        if found is None:
            skipped.append(loaded.name)
        else:
            found.pricing = "spot" if options.spot else "on-demand"
            costs.append(found)
    api = options.api
    if options.plot:
        plot([c for c in costs if c.priced], api, options.requests_per_day, options.plot)
    if options.fmt == "json":
        return format_json(costs, api, options.requests_per_day, skipped)
    text = format_text(costs, api, options.requests_per_day, skipped)
    if options.plot:
        text += f"chart: {options.plot}\n"
    return text
