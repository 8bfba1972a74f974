"""Options more than one subcommand takes."""

from __future__ import annotations

import click

#: For tests and wrappers: the repository root, instead of the folder with llmfleet.yaml
#: above the current one.
repo_root_option = click.option(
    "--repo-root",
    type=click.Path(file_okay=False),
    hidden=True,
    help="Repository root (default: the folder with llmfleet.yaml above the cwd).",
)
