"""Write (or verify) the model gateway's routes file from every overlay's fleet model
(:mod:`llmfleet.model.routes` derives the table)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from llmfleet.infra import bounded_read, exitcodes
from llmfleet.infra.errors import UsageError
from llmfleet.infra.output import output_target
from llmfleet.model import OverlayModel
from llmfleet.model.routes import diff_routes, render_routes_file, routes_of
from llmfleet.pipeline.config import Config


def expected_text(
    config: Config,
    staged: tuple[str, Path] | None = None,
    render_aliases: dict[Path, tuple[str, dict[str, str]]] | None = None,
) -> tuple[str, int]:
    """The routes file the overlays render, and how many overlays were read.  ``staged``
    (name, folder) is an overlay not yet in place, replacing ``overlays/<name>`` if any;
    ``render_aliases`` as in :class:`llmfleet.pipeline.render_cache.RenderCache`."""
    from llmfleet.pipeline.runner import iter_overlay_models

    named = None
    if staged is not None:
        named = [
            (config.overlay_name(d), d) for d in config.overlay_dirs() if config.overlay_name(d) != staged[0]
        ] + [staged]
    models: dict[str, OverlayModel] = {}
    for loaded, model in iter_overlay_models(config, named=named, render_aliases=render_aliases):
        if loaded.findings and not loaded.resources:
            raise UsageError(f"overlay {loaded.name} cannot be read: {loaded.findings[0].message}")
        models[loaded.name] = model
    try:
        return render_routes_file(routes_of(models)), len(models)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def routes_path(config: Config, output: str | None = None) -> str:
    """The routes file to write (relative to the root), or "" when there is none: no
    ``gateway.routes-file``, or its folder does not exist (a repository without a gateway)."""
    relative = output or config.routes_file
    if not relative or not (config.root / relative).parent.is_dir():
        return ""
    return relative


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate(
    config: Config, check_only: bool = False, output: str | None = None, echo: Callable[..., None] = print
) -> int:
    """Write (or verify) the routes file; returns the exit code."""
    relative = output or config.routes_file
    if not relative:
        raise UsageError("no routes file: pass --output or set gateway.routes-file in llmfleet.yaml")
    path = output_target(config.root / relative, "--output" if output else "gateway.routes-file")
    if not check_only:
        from llmfleet.infra.transaction import recover, repository_lock

        with repository_lock(config.root, config.limits.lock_timeout_s, echo, f"writing {relative}"):
            for note in recover(config.root, config.overlays_path, routes_path(config)):
                echo(f"llmfleet: recovered: {note}", err=True)
            text, count = expected_text(config)
            write_atomically(path, text)
        echo(f"wrote {relative} ({text.count('- name: ')} models from {count} overlays)")
        return exitcodes.OK
    text, count = expected_text(config)
    try:
        current = bounded_read.read_text(path, config.limits.max_input_bytes) if path.is_file() else ""
    except UnicodeDecodeError:
        raise UsageError(f"{relative}: not a routes file (not UTF-8 text)") from None
    except OSError as exc:
        raise UsageError(f"{relative}: cannot read it: {exc.strerror or exc}") from None
    differences = diff_routes(current, text) if current else [f"{relative} does not exist"]
    for line in differences:
        echo(f"{relative}: {line}")
    if differences:
        echo("run `llmfleet gateway-routes` and commit the file", err=True)
        return exitcodes.FINDINGS
    echo(f"{relative} is up to date")
    return exitcodes.OK
