"""``llmfleet cost [OVERLAY...]``: $/day per overlay and the break-even against a hosted API."""

from __future__ import annotations

from pathlib import Path

import click

from llmfleet.commands.options import repo_root_option
from llmfleet.features.cost.estimate import (
    DEFAULT_INPUT_TOKENS,
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_REQUESTS_PER_DAY,
)
from llmfleet.features.cost.report import CostOptions, run_cost
from llmfleet.infra.errors import LlmfleetError
from llmfleet.pipeline.config import load_config, resolve_overlay_arg


@click.command("cost")
@click.argument("overlays", nargs=-1)
@click.option(
    "--requests-per-day",
    # Past 1e12 a day (over ten million a second) no price means anything; inf overflowed.
    type=click.FloatRange(max=1e12),
    default=DEFAULT_REQUESTS_PER_DAY,
    show_default=True,
    help="Request volume to price on the hosted API.",
)
@click.option(
    "--input-tokens",
    type=int,
    default=DEFAULT_INPUT_TOKENS,
    show_default=True,
    help="Input (prompt) tokens per request.",
)
@click.option(
    "--output-tokens",
    type=int,
    default=DEFAULT_OUTPUT_TOKENS,
    show_default=True,
    help="Output tokens per request.",
)
@click.option(
    "--api-input-price",
    type=float,
    default=None,
    help="Hosted API USD per million input tokens (default: the price of a hosted model of "
    "the overlay's size, llmfleet/data/api_prices.yaml).",
)
@click.option(
    "--api-output-price",
    type=float,
    default=None,
    help="Hosted API USD per million output tokens (default: by the overlay's size, as --api-input-price).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write a PNG chart of cost/day against requests/day (needs matplotlib).",
)
@click.option(
    "--spot",
    is_flag=True,
    help="Price at the sourced spot prices of the instances (own column in the "
    "default report); instances without one are not priced.",
)
@repo_root_option
@click.pass_context
def command(
    ctx,
    overlays,
    requests_per_day,
    input_tokens,
    output_tokens,
    api_input_price,
    api_output_price,
    fmt,
    plot,
    spot,
    repo_root,
):
    """Cost per day of OVERLAYS (default: all) at min and max replicas, what they serve at
    max replicas (requests/day, from their autoscaling targets and sizing), the hosted-API
    cost at the given volume, and the break-even volume (requests/day) with the arithmetic
    shown and whether the replicas can reach it.

    GPU class from the pods' node selection, GPUs per replica from nvidia.com/gpu (a
    LeaderWorkerSet group: all its pods), replicas from the KEDA ScaledObject; min and max
    replicas priced as the whole nodes their pods take, on the shape cheapest for that
    count (GPUs, CPU and memory requests; cluster.cloud in llmfleet.yaml;
    llmfleet/data/instance_prices.yaml), spot beside; a pod's share of a node only as the
    marginal price once the node is shared.
    """
    try:
        config = load_config(Path(repo_root) if repo_root else None)
        # overlays/<name> or a bare <name>, one helper for every command (llmfleet.pipeline.config).
        directories = [str(resolve_overlay_arg(config, raw)) for raw in overlays]
        options = CostOptions(
            overlays=directories,
            requests_per_day=requests_per_day,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            api_input_price=api_input_price,
            api_output_price=api_output_price,
            fmt=fmt,
            plot=plot,
            spot=spot,
        )
        text = run_cost(config, options)
    except LlmfleetError as err:
        click.echo(f"llmfleet: error: {err}", err=True)
        ctx.exit(err.exit_code)
    click.echo(text, nl=False)
