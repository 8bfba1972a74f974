"""``llmfleet build OVERLAY: render one overlay to stdout.``"""

from __future__ import annotations

import sys

import click

from llmfleet.infra import exitcodes
from llmfleet.infra.output import write_output
from llmfleet.pipeline.config import load_config


@click.command("build")
@click.argument("overlay")
@click.option("-v", "--verbose", is_flag=True, help="Say which renderer was used (on stderr).")
def command(overlay: str, verbose: bool):
    """Render one OVERLAY (a folder, or an overlay's name) to stdout (kustomize if on PATH,
    else kubectl kustomize)."""
    from llmfleet.pipeline.render import find_renderer
    from llmfleet.pipeline.render_cache import RenderCache

    config = load_config()
    directory = config.resolve_overlay_arg(overlay)
    renderer = find_renderer()
    if verbose:
        click.echo(f"llmfleet: rendering with {renderer.name} ({renderer.argv[0]})", err=True)
    # Not cached, but its files are checked first (no FIFO, device or oversized file).
    uncached = RenderCache(config.root, renderer, enabled=False, max_bytes=config.limits.max_input_bytes)
    rendered = uncached.render(directory, config.limits.render_timeout_s)
    if not rendered.ok:
        click.echo(f"llmfleet: {overlay}: kustomize build failed: {rendered.error}", err=True)
        sys.exit(exitcodes.FINDINGS)
    write_output(rendered.text, None)
