"""``llmfleet lint [TARGET...]: the lint rules.``"""

from __future__ import annotations

import click

from llmfleet.commands.options import (
    finish,
    lint_options,
    pipeline_options,
    report_options,
)
from llmfleet.pipeline.config import load_config


@click.command("lint")
@click.argument("targets", nargs=-1)
@lint_options
@report_options
def command(targets, fmt, output, strict, **kwargs):
    """Run the lint rules over TARGETS (overlays, YAML files or folders, - for stdin);
    no target means every overlay."""
    options = pipeline_options(strict=strict, **kwargs)
    config = load_config(use_cache=options.cache)
    from llmfleet.pipeline.runner import run_lint

    finish(run_lint(config, list(targets), options), fmt, output, strict)
