"""``llmfleet gateway-routes``: regenerate (or, with --check, verify) the gateway's routes."""

from __future__ import annotations

import sys

import click

from llmfleet import exitcodes
from llmfleet.config import load_config
from llmfleet.errors import UsageError


def generate(config, check_only: bool = False, output: str | None = None, echo=click.echo) -> int:
    """Write (or verify) the routes file; returns the exit code."""
    from llmfleet.gateway_routes import diff_routes, render_routes_file, routes_from_rendered
    from llmfleet.runner import Target, load_targets, overlay_name

    relative = output or config.lint.gateway_routes_file
    if not relative:
        raise UsageError("no routes file: pass --output or set lint.gateway-routes-file in llmfleet.yaml")
    targets = [Target("overlay", d, overlay_name(d, config)) for d in config.overlay_dirs()]
    rendered: dict[str, list[dict]] = {}
    for loaded in load_targets(config, targets):
        if loaded.findings:
            first = loaded.findings[0]
            raise UsageError(f"overlay {loaded.name} cannot be read: {first.message}")
        rendered[loaded.name] = [r.data for r in loaded.resources]
    try:
        text = render_routes_file(routes_from_rendered(rendered))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    path = config.root / relative
    if check_only:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        differences = diff_routes(current, text) if current else [f"{relative} does not exist"]
        for line in differences:
            echo(f"{relative}: {line}")
        if differences:
            echo("run `llmfleet gateway-routes` and commit the file", err=True)
            return exitcodes.FINDINGS
        echo(f"{relative} is up to date")
        return exitcodes.OK
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    echo(f"wrote {relative} ({text.count('- name: ')} models from {len(rendered)} overlays)")
    return exitcodes.OK


@click.command("gateway-routes")
@click.option("--check", "check_only", is_flag=True,
              help="Do not write: exit 1 and list the differences when the file is stale.")
@click.option("-o", "--output", metavar="PATH",
              help="Routes file (default: lint.gateway-routes-file in llmfleet.yaml).")
def command(check_only: bool, output: str | None):
    """Generate the model gateway's routing table from every overlay's rendered output."""
    sys.exit(generate(load_config(), check_only, output))
