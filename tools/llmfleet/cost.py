"""Cost of the deployed models and the break-even against a hosted API.

Per overlay, from its fleet model (``llmfleet.model``): the GPU class (its node selection,
any known GPU label), GPUs per replica (the pods' effective accelerator requests; a
LeaderWorkerSet group counts all its pods) and the replica range (the KEDA ScaledObject or HPA
that targets the workload, with KEDA's defaults; ``spec.replicas`` without one).  Prices per
GPU-hour come from the catalog (``llmfleet/data/gpus.yaml``).

    self-hosted $/day = replicas x GPUs per pod x $/GPU-hour x 24
    API $/request     = (input tokens x $/M input + output tokens x $/M output) / 1e6
    API $/day         = requests/day x API $/request
    break-even        = self-hosted $/day at min replicas / API $/request   [requests/day]

The self-hosted cost is flat (GPUs are paid by the hour, busy or idle) up to what the
replicas can serve; the API cost grows with the volume.  Below the break-even volume the
API is cheaper.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from llmfleet.errors import UsageError
from llmfleet.model import OverlayModel, catalog
from llmfleet.model.catalog import GpuClass

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


@dataclass(frozen=True)
class ApiPricing:
    input_price: float = DEFAULT_API_INPUT_PRICE      # USD per million input tokens
    output_price: float = DEFAULT_API_OUTPUT_PRICE    # USD per million output tokens
    input_tokens: int = DEFAULT_INPUT_TOKENS          # per request
    output_tokens: int = DEFAULT_OUTPUT_TOKENS        # per request

    @property
    def per_request(self) -> float:
        return (self.input_tokens * self.input_price + self.output_tokens * self.output_price) / 1e6

    def per_day(self, requests_per_day: float) -> float:
        return requests_per_day * self.per_request

    def arithmetic(self, requests_per_day: float) -> str:
        return (f"API: {number(requests_per_day)} req × ({self.input_tokens} in × "
                f"{money(self.input_price)} + {self.output_tokens} out × {money(self.output_price)})"
                f"/1e6 = {money(self.per_day(requests_per_day))}/day")


def gpu_label(gpu: GpuClass | str) -> str:
    """``L4``, ``A100-80GB``: how the class is written in the arithmetic."""
    return (gpu.name if isinstance(gpu, GpuClass) else str(gpu)).upper()


def per_day(replicas: int, gpus_per_pod: int, price_per_hour: float) -> float:
    return replicas * gpus_per_pod * price_per_hour * HOURS_PER_DAY


def per_day_arithmetic(replicas: int, gpus_per_pod: int, gpu: GpuClass) -> str:
    """``1 × L4 × $0.70/h × 24 h = $16.80/day`` (replicas × GPUs folded when one is 1)."""
    count = replicas * gpus_per_pod
    head = f"{count} × {gpu_label(gpu)}" if replicas == 1 or gpus_per_pod == 1 else \
        f"{replicas} replicas × {gpus_per_pod} × {gpu_label(gpu)}"
    return (f"{head} × {money(gpu.price_per_hour)}/h × {HOURS_PER_DAY} h = "
            f"{money(per_day(replicas, gpus_per_pod, gpu.price_per_hour))}/day")


@dataclass
class OverlayCost:
    name: str
    gpu: GpuClass
    gpus_per_pod: int
    min_replicas: int
    max_replicas: int
    replicas_source: str = ""

    @property
    def per_hour_min(self) -> float:
        return self.min_replicas * self.gpus_per_pod * self.gpu.price_per_hour

    @property
    def per_hour_max(self) -> float:
        return self.max_replicas * self.gpus_per_pod * self.gpu.price_per_hour

    @property
    def per_day_min(self) -> float:
        return per_day(self.min_replicas, self.gpus_per_pod, self.gpu.price_per_hour)

    @property
    def per_day_max(self) -> float:
        return per_day(self.max_replicas, self.gpus_per_pod, self.gpu.price_per_hour)

    def break_even(self, api: ApiPricing) -> float | None:
        """Requests/day at which the API costs as much as the minimum self-hosted fleet."""
        if api.per_request <= 0:
            return None
        return self.per_day_min / api.per_request

    def to_json(self, api: ApiPricing, requests_per_day: float) -> dict:
        be = self.break_even(api)
        return {
            "overlay": self.name,
            "gpu_class": self.gpu.name,
            "gpus_per_pod": self.gpus_per_pod,
            "price_per_gpu_hour": self.gpu.price_per_hour,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "replicas_source": self.replicas_source,
            "per_hour_min": round(self.per_hour_min, 6),
            "per_hour_max": round(self.per_hour_max, 6),
            "per_day_min": round(self.per_day_min, 6),
            "per_day_max": round(self.per_day_max, 6),
            "break_even_requests_per_day": None if be is None else round(be, 3),
            "cheaper_at_requests_per_day": (
                "api" if be is None or requests_per_day < be else "self-hosted"),
        }


# -- reading the model ------------------------------------------------------------------------

def overlay_cost(model: OverlayModel) -> OverlayCost | None:
    """Cost facts of one overlay; None when it holds no accelerator workload."""
    name = model.name
    uses = model.accelerator_uses
    if not uses:
        return None
    if len(uses) > 1:
        raise UsageError(f"{name}: {len(uses)} accelerator workloads "
                         f"({', '.join(u.workload.resource.ref for u in uses)}); cost reads one per overlay")
    use = uses[0]
    if not use.classes:
        raise UsageError(f"{name}: the GPU pods of {use.workload.resource.ref} select no GPU class "
                         "(node affinity or nodeSelector on a GPU label), so their price is unknown")
    if len(use.classes) > 1:
        raise UsageError(f"{name}: the pod may land on several GPU classes ({', '.join(use.classes)}); "
                         "cost needs one")
    gpu = catalog.find_gpu(use.classes[0])
    if gpu is None:
        raise UsageError(f"{name}: GPU class {use.classes[0]!r} is not in the catalog "
                         f"(known: {', '.join(catalog.gpu_names())})")
    if use.replicas.minimum is None or use.replicas.maximum is None:
        raise UsageError(f"{name}: the replica count of {use.workload.resource.ref} cannot be told "
                         f"({use.replicas.source})")
    return OverlayCost(name, gpu, use.per_replica_max, use.replicas.minimum, use.replicas.maximum,
                       use.replicas.source)


# -- report ------------------------------------------------------------------------------------

@dataclass
class CostOptions:
    overlays: list[str] = field(default_factory=list)
    requests_per_day: float = DEFAULT_REQUESTS_PER_DAY
    input_tokens: int = DEFAULT_INPUT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    api_input_price: float = DEFAULT_API_INPUT_PRICE
    api_output_price: float = DEFAULT_API_OUTPUT_PRICE
    fmt: str = "text"
    plot: str | None = None

    @property
    def api(self) -> ApiPricing:
        return ApiPricing(self.api_input_price, self.api_output_price, self.input_tokens,
                          self.output_tokens)

    def validate(self) -> None:
        for label, value in (("--requests-per-day", self.requests_per_day),
                             ("--input-tokens", self.input_tokens),
                             ("--output-tokens", self.output_tokens),
                             ("--api-input-price", self.api_input_price),
                             ("--api-output-price", self.api_output_price)):
            if value is None or not math.isfinite(value) or value < 0:
                raise UsageError(f"{label} {value}: must be a number >= 0")
        if self.fmt not in ("text", "json"):
            raise UsageError(f"--format {self.fmt}: text or json")


def format_text(costs: list[OverlayCost], api: ApiPricing, requests_per_day: float,
                skipped: list[str] | None = None) -> str:
    out: list[str] = []
    per_request = api.per_request
    out.append(api.arithmetic(requests_per_day))
    out.append(f"     per request: ({api.input_tokens} × {money(api.input_price)} + "
               f"{api.output_tokens} × {money(api.output_price)})/1e6 = {money(per_request)}")
    for c in costs:
        out.append("")
        out.append(f"{c.name}: {c.gpus_per_pod} × {c.gpu.name} per replica "
                   f"({c.gpu.display}, {money(c.gpu.price_per_hour)}/GPU-hour"
                   f"{', ' + c.gpu.price_note if c.gpu.price_note else ''}); "
                   f"replicas {c.min_replicas}-{c.max_replicas} ({c.replicas_source})")
        out.append(f"  min: {per_day_arithmetic(c.min_replicas, c.gpus_per_pod, c.gpu)}"
                   f" ({money(c.per_hour_min)}/h)")
        out.append(f"  max: {per_day_arithmetic(c.max_replicas, c.gpus_per_pod, c.gpu)}"
                   f" ({money(c.per_hour_max)}/h)")
        be = c.break_even(api)
        if be is None:
            out.append("  break-even: none (the API is free at these prices)")
        else:
            cheaper = "API" if requests_per_day < be else "self-hosted"
            out.append(f"  break-even: {money(c.per_day_min)}/day ÷ {money(per_request)}/request = "
                       f"{number(be)} requests/day; at {number(requests_per_day)} requests/day "
                       f"{cheaper} is cheaper")
    if len(costs) > 1:
        out.append("")
        low = sum(c.per_day_min for c in costs)
        high = sum(c.per_day_max for c in costs)
        out.append(f"fleet: {money(low)}/day at min replicas, {money(high)}/day at max replicas "
                   f"({len(costs)} overlays)")
    for name in skipped or []:
        out.append(f"note: {name}: no GPU workload, not priced")
    return "\n".join(out) + "\n"


def format_json(costs: list[OverlayCost], api: ApiPricing, requests_per_day: float,
                skipped: list[str] | None = None) -> str:
    doc = {
        "assumptions": {
            "hours_per_day": HOURS_PER_DAY,
            "requests_per_day": requests_per_day,
            "input_tokens": api.input_tokens,
            "output_tokens": api.output_tokens,
            "api_input_price_per_million": api.input_price,
            "api_output_price_per_million": api.output_price,
        },
        "api": {"per_request": round(api.per_request, 9),
                "per_day": round(api.per_day(requests_per_day), 6)},
        "overlays": [c.to_json(api, requests_per_day) for c in costs],
        "total": {"per_day_min": round(sum(c.per_day_min for c in costs), 6),
                  "per_day_max": round(sum(c.per_day_max for c in costs), 6)},
        "skipped": list(skipped or []),
    }
    return json.dumps(doc, indent=2) + "\n"


def plot(costs: list[OverlayCost], api: ApiPricing, requests_per_day: float, path: str | Path) -> Path:
    """A PNG of cost/day against requests/day: each overlay at min and max replicas (flat),
    the API (a line through 0), and the break-even points marked."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install matplotlib==3.11.2 "
                         "(requirements-dev.txt)") from None
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UsageError(f"--plot {path}: folder {path.parent} does not exist")
    evens = [b for b in (c.break_even(api) for c in costs) if b]
    x_max = max([requests_per_day, *evens]) * 1.25 or 1000
    from matplotlib.ticker import FuncFormatter

    def tex(text: str) -> str:  # a bare $ starts mathtext in matplotlib
        return text.replace("$", r"\$")

    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=100)
    try:
        ax.plot([0, x_max], [0, api.per_day(x_max)], color="black", linewidth=2,
                label=tex(f"API ({money(api.input_price)}/M in, {money(api.output_price)}/M out; "
                          f"{api.input_tokens}+{api.output_tokens} tokens/request)"))
        colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
        for i, c in enumerate(costs):
            color = colors[i % len(colors)]
            ax.hlines(c.per_day_min, 0, x_max, colors=color, linestyles="solid",
                      label=tex(f"{c.name} min ({c.min_replicas} × {c.gpus_per_pod} {c.gpu.name}): "
                                f"{money(c.per_day_min)}/day"))
            ax.hlines(c.per_day_max, 0, x_max, colors=color, linestyles="dashed",
                      label=tex(f"{c.name} max ({c.max_replicas} × {c.gpus_per_pod} {c.gpu.name}): "
                                f"{money(c.per_day_max)}/day"))
            be = c.break_even(api)
            if be:
                ax.plot([be], [c.per_day_min], marker="o", markersize=8, color=color)
                ax.annotate(f"break-even {number(be)} req/day", (be, c.per_day_min),
                            textcoords="offset points", xytext=(6, 6), fontsize=8, color=color)
        ax.axvline(requests_per_day, color="grey", linestyle=":", linewidth=1,
                   label=f"{number(requests_per_day)} requests/day")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: tex(f"${v:,.0f}")))
        ax.set_xlim(0, x_max)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("requests per day")
        ax.set_ylabel("USD per day")
        ax.set_title("Self-hosted (min and max replicas) vs hosted API")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format="png")
        tmp.replace(path)
    finally:
        plt.close(fig)
    return path


def run_cost(config, options: CostOptions) -> str:
    """Render the overlays, price them and return the formatted report (writes --plot)."""
    from llmfleet.checker import iter_overlay_models
    options.validate()
    directories = [config.resolve_overlay_arg(raw) for raw in options.overlays] if options.overlays \
        else config.overlay_dirs()
    if not directories:
        raise UsageError(f"no overlays under {config.overlays_path}")
    costs: list[OverlayCost] = []
    skipped: list[str] = []
    for loaded, model in iter_overlay_models(config, directories=directories):
        if loaded.findings and not loaded.resources:
            raise UsageError(f"{loaded.name}: {loaded.findings[0].message}")
        found = overlay_cost(model)
        if found is None:
            skipped.append(loaded.name)
        else:
            costs.append(found)
    api = options.api
    if options.plot:
        plot(costs, api, options.requests_per_day, options.plot)
    if options.fmt == "json":
        return format_json(costs, api, options.requests_per_day, skipped)
    text = format_text(costs, api, options.requests_per_day, skipped)
    if options.plot:
        text += f"chart: {options.plot}\n"
    return text
