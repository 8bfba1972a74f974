"""Write (or verify) the model gateway's routes file from every overlay's fleet model
(:mod:`llmfleet.model.routes` derives the table)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from llmfleet import exitcodes
from llmfleet.config import Config
from llmfleet.errors import UsageError
from llmfleet.model import OverlayModel
from llmfleet.model.routes import diff_routes, render_routes_file, routes_of


def expected_text(config: Config) -> tuple[str, int]:
    """The routes file the overlays render, and how many overlays were read."""
    from llmfleet.checker import iter_overlay_models
    models: dict[str, OverlayModel] = {}
    for loaded, model in iter_overlay_models(config):
        if loaded.findings and not loaded.resources:
            raise UsageError(f"overlay {loaded.name} cannot be read: {loaded.findings[0].message}")
        models[loaded.name] = model
    try:
        return render_routes_file(routes_of(models)), len(models)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


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


def generate(config: Config, check_only: bool = False, output: str | None = None,
             echo: Callable[..., None] = print) -> int:
    """Write (or verify) the routes file; returns the exit code."""
    relative = output or config.routes_file
    if not relative:
        raise UsageError("no routes file: pass --output or set gateway.routes-file in llmfleet.yaml")
    text, count = expected_text(config)
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
    write_atomically(path, text)
    echo(f"wrote {relative} ({text.count('- name: ')} models from {count} overlays)")
    return exitcodes.OK
