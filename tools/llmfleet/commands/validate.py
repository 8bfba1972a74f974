"""``llmfleet validate [TARGET...]: schema and API validation.``"""

from __future__ import annotations

from pathlib import Path

import click

from llmfleet.commands.options import (
    finish,
    pipeline_options,
    report_options,
    say_tools,
    validate_options,
)
from llmfleet.pipeline.config import load_config


@click.command("validate")
@click.argument("targets", nargs=-1)
@validate_options
@report_options
def command(targets, fmt, output, strict, **kwargs):
    """Validate TARGETS against their schemas.

    A target is an overlay folder, a YAML file, a folder of YAML files, or - for stdin;
    no target means every overlay.
    """
    options = pipeline_options(strict=strict, **kwargs)
    config = load_config(use_cache=options.cache)
    say_tools(options, renderer=any(Path(t).is_dir() for t in targets) or not targets)
    from llmfleet.pipeline.runner import run_validate

    finish(run_validate(config, list(targets), options), fmt, output, strict)
