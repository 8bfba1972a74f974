"""``llmfleet gateway-routes``: regenerate (or, with --check, verify) the gateway's routes."""

from __future__ import annotations

import sys

import click

from llmfleet.features.gateway_routes import generate
from llmfleet.pipeline.config import load_config


@click.command("gateway-routes")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Do not write: exit 1 and list the differences when the file is stale.",
)
@click.option(
    "-o", "--output", metavar="PATH", help="Routes file (default: gateway.routes-file in llmfleet.yaml)."
)
def command(check_only: bool, output: str | None):
    """Generate the model gateway's routing table from every overlay's rendered output."""
    sys.exit(generate(load_config(), check_only, output, click.echo))
