"""``llmfleet check [OVERLAY...]: build, validate and lint, and the fleet-wide rules.``"""

from __future__ import annotations

import click

from llmfleet.commands.options import (
    finish,
    lint_options,
    pipeline_options,
    report_options,
    say_tools,
    validate_options,
)
from llmfleet.pipeline.config import load_config


@click.command("check")
@click.argument("overlays", nargs=-1)
@click.option(
    "--changed-since",
    metavar="REF",
    help="Only the overlays (and platform kustomizations) affected by the files changed "
    "since this git revision (see `llmfleet affected`; with OVERLAYS, those of them "
    "that are affected), plus the fleet-wide rules.",
)
@validate_options
@lint_options
@report_options
def command(overlays, fmt, output, strict, changed_since=None, **kwargs):
    """Build, validate and lint OVERLAYS (default: all) and run the fleet-wide rules."""
    options = pipeline_options(strict=strict, **kwargs)
    # The configuration's schema is checked once the renders have started (Checker.run),
    # and in any case before anything is reported.
    config = load_config(use_cache=options.cache, defer_schema_check=True)
    try:
        say_tools(options)
        from llmfleet.pipeline.runner import run_check

        report = run_check(config, list(overlays), options, changed_since=changed_since)
    finally:
        config.check_schema()
    finish(report, fmt, output, strict)
