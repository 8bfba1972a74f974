"""``llmfleet diff --base REF [OVERLAY...]``: per-object diff of the rendered overlays."""

from __future__ import annotations

import os
import posixpath
import sys
from pathlib import Path

import click

from llmfleet.features.diff.rendered import diff_overlays, render_markdown, render_text
from llmfleet.infra import exitcodes
from llmfleet.infra import git as gitutil
from llmfleet.infra.errors import UsageError
from llmfleet.pipeline import affected as affected_mod
from llmfleet.pipeline.config import load_config, resolve_overlay_arg


def _overlay_arg(raw: str, config, cwd: Path) -> tuple[str, str]:
    """An overlay given as a folder (overlays/<name>, relative to the current folder or the
    root) or as a bare name; one that is not in the working tree may exist at the base (an
    overlay this change removes)."""
    root = config.root.resolve()
    try:
        candidate = (cwd / resolve_overlay_arg(config, raw, cwd)).resolve()
    except UsageError:
        candidate = (cwd / raw).resolve()
        if "/" not in raw.strip("/"):
            candidate = (config.overlays_path / raw.strip("/")).resolve()
    try:
        rel = candidate.relative_to(root).as_posix()
    except ValueError:
        raise UsageError(f"{raw}: not inside the repository {root}") from None
    overlays_dir = posixpath.normpath(config.overlays_dir)
    name = posixpath.basename(rel) if posixpath.dirname(rel) == overlays_dir else rel
    return name, rel


@click.command("diff")
@click.option(
    "--base", "base", required=True, metavar="REF", help="Git revision to compare with (e.g. origin/main)."
)
@click.argument("overlays", nargs=-1)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: a PR comment (one collapsible section per overlay).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of stdout.",
)
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Renders run at once.")
@click.option(
    "--no-simulate",
    is_flag=True,
    help="Leave out the simulated response of each changed overlay to the default spike.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Render both sides again (ignore .llmfleet-cache/render, which both sides share).",
)
def command(
    base: str,
    overlays: tuple[str, ...],
    fmt: str,
    output: str | None,
    jobs: int | None,
    no_simulate: bool,
    no_cache: bool,
):
    """Render OVERLAYS (default: those affected since REF, see `llmfleet affected`) at REF
    and in the working tree, and show the added, removed and changed objects with a unified
    diff of each changed one and a summary line (GPUs and cost at max scale). For each
    changed overlay, the autoscaling simulation (`llmfleet simulate`) replays the base's
    default spike against both sides: peak queue, time to absorb, GPU-hours and p99 wait,
    before and after. Exit 1 when the working tree's side breaches its latency objective;
    exit 2 when the working tree's capacity.yaml cannot be read (its objective cannot be judged).

    REF is checked out in a temporary git worktree, removed afterwards."""
    from llmfleet.infra.output import write_output

    config = load_config()
    root = config.root.resolve()
    top = gitutil.toplevel(root)
    gitutil.resolve_ref(top, base)
    if overlays:
        selected = [_overlay_arg(raw, config, Path.cwd()) for raw in overlays]
    else:
        result = affected_mod.compute(config, base)
        selected = [(t.name, t.path) for t in result.targets]
        for note in result.notes:
            click.echo(f"llmfleet: note: {note}", err=True)
    prefix = affected_mod.repo_prefix(config, top)
    with gitutil.worktree(top, base) as tree:
        base_root = tree / prefix if prefix else tree
        diffs = diff_overlays(
            base_root,
            root,
            selected,
            jobs,
            config.cluster,
            simulate=not no_simulate,
            use_cache=not no_cache and os.environ.get("LLMFLEET_NO_CACHE") != "1",
        )
    text = render_markdown(diffs, base) if fmt == "markdown" else render_text(diffs, base)
    write_output(text, output)
    unreadable = [d.spike.after_invalid for d in diffs if d.spike is not None and d.spike.after_invalid]
    if unreadable:
        for message in unreadable:
            click.echo(f"llmfleet: {message}", err=True)
        sys.exit(exitcodes.USAGE)
    breached = [d.name for d in diffs if d.spike is not None and d.spike.breaches_slo]
    if breached:
        click.echo(
            f"llmfleet: the simulated default spike breaches the latency objective of "
            f"{', '.join(breached)} (capacity.yaml slo, or p95/p99 wait <= 1/5 min)",
            err=True,
        )
        sys.exit(exitcodes.FINDINGS)
