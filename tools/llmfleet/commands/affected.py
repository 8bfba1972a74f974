"""``llmfleet affected --base REF``: the overlays a change can affect."""

from __future__ import annotations

import json

import click

from llmfleet.pipeline.affected import compute, render_text
from llmfleet.pipeline.config import load_config


@click.command("affected")
@click.option(
    "--base",
    "base",
    required=True,
    metavar="REF",
    help="Git revision to compare with (e.g. origin/main): files changed in REF...HEAD, "
    "plus uncommitted and untracked changes.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(base: str, fmt: str):
    """List the overlays (and platform kustomizations) whose rendered output can change
    because of the files changed since REF, from the kustomization graph.

    Text: one line per overlay (name, kind, the changed files it reads); notes on stderr.
    """
    result = compute(load_config(), base)
    if fmt == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    click.echo(render_text(result), nl=False)
    for note in result.notes:
        click.echo(f"llmfleet: note: {note}", err=True)
