"""What a run reads: targets from the command line (kustomizations, YAML files, folders of
YAML, stdin) and each one loaded into resources and input findings.

A folder without a kustomization is one input, as ``kustomize build`` would see a folder of
resources: selectors, scale targets and alert coverage resolve across its files.  The lint
rules see every file, folder and stdin of one invocation together
(``llmfleet.pipeline.runner.lint_groups``), each finding still under its own input.  Only
regular files and stdin are read (a FIFO or a device is an ``input`` finding), each up to
``limits.max-input-bytes``.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from llmfleet.infra import bounded_read
from llmfleet.infra.errors import UsageError
from llmfleet.infra.findings import Finding, Severity
from llmfleet.model.secrets import secret_values
from llmfleet.pipeline import builtin_checks as checks
from llmfleet.pipeline.config import Config, display_path, find_kustomization
from llmfleet.pipeline.manifests import Resource, load_bytes
from llmfleet.pipeline.redact import remember
from llmfleet.pipeline.render import Rendered
from llmfleet.pipeline.render_cache import RenderCache

YAML_SUFFIXES = (".yaml", ".yml", ".json")

KUSTOMIZATION, FILE, FOLDER, STDIN = "kustomization", "file", "folder", "stdin"


@dataclass(frozen=True)
class Target:
    kind: str  # kustomization | file | folder | stdin
    path: Path | None
    display: str  # overlay name, or the path from the repository root


@dataclass
class Loaded:
    """One input after loading: its resources and what went wrong loading it."""

    target: Target
    file: str  # display path of the kustomization, file or folder
    resources: list[Resource] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.target.display

    @property
    def is_kustomization(self) -> bool:
        return self.target.kind == KUSTOMIZATION


def kustomization_target(config: Config, directory: Path) -> Target:
    return Target(KUSTOMIZATION, directory, config.overlay_name(directory))


def collect(config: Config, args: list[str], default: str = "overlays") -> list[Target]:
    """Expand command-line targets; with none, every overlay (``default="overlays"``) or
    stdin.  A bare name that is not a path names an overlay."""
    if not args:
        if default == "stdin":
            return [Target(STDIN, None, "<stdin>")]
        overlays = config.overlay_dirs()
        if not overlays:
            raise UsageError(f"no overlays found under {display_path(config.overlays_path, config.root)}/")
        return [kustomization_target(config, d) for d in overlays]
    out: list[Target] = []
    for raw in args:
        if raw == "-":
            out.append(Target(STDIN, None, "<stdin>"))
            continue
        if not raw.strip():
            raise UsageError("an empty target: name an overlay, a file or a folder (. for this one)")
        path = Path(raw)
        if not os.path.lexists(path):
            if path.suffix in YAML_SUFFIXES:
                raise UsageError(f"{raw}: no such file or directory")
            # a bare overlay name, or overlays/<name> from another folder; else close matches
            out.append(kustomization_target(config, config.resolve_overlay_arg(raw)))
            continue
        if path.is_dir():
            if find_kustomization(path):
                out.append(kustomization_target(config, path))
                continue
            files = _yaml_files(path)
            if not files:
                raise UsageError(f"{raw}: a folder with no kustomization and no YAML files")
            out.append(Target(FOLDER, path, display_path(path, config.root)))
        else:
            out.append(Target(FILE, path, display_path(path, config.root)))
    return list(dict.fromkeys(out))


#: Folders of the kernel's pseudo filesystems: never walked for manifests.
SPECIAL_FOLDERS = ("/proc", "/sys", "/dev")


def _yaml_files(folder: Path) -> list[Path]:
    """The YAML files under ``folder``, hidden ones left out.  The walk stays on the
    folder's filesystem (as ``find -xdev``: ``lint /`` does not walk /proc or /sys) and looks
    at no more than :data:`bounded_read.MAX_WALK_ENTRIES` entries (then a UsageError)."""
    resolved = str(folder.resolve())
    if any(resolved == special or resolved.startswith(special + "/") for special in SPECIAL_FOLDERS):
        raise UsageError(f"{folder}: a folder of the kernel's files (/proc, /sys, /dev), not manifests")
    try:
        device = folder.stat().st_dev
    except OSError as exc:
        raise UsageError(f"{folder}: cannot read the folder: {exc.strerror}") from None
    found, seen = [], 0
    for parent, dirs, files in os.walk(folder):
        seen += len(dirs) + len(files)
        if seen > bounded_read.MAX_WALK_ENTRIES:
            raise UsageError(
                f"{folder}: more than {bounded_read.MAX_WALK_ENTRIES:,} entries under this folder: "
                "name a smaller folder or the files"
            )
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and _same_device(Path(parent, d), device))
        found += [Path(parent, f) for f in files if not f.startswith(".") and Path(f).suffix in YAML_SUFFIXES]
    return sorted(p for p in found if p.is_file() or p.is_fifo())


def _same_device(path: Path, device: int) -> bool:
    try:
        return path.stat().st_dev == device
    except OSError:
        return False


def read_input(path: Path | None, display: str, limit: int) -> tuple[bytes | None, Finding | None]:
    """The bytes of a regular file or of stdin, or an ``input`` finding saying why not."""

    def problem(message: str) -> tuple[None, Finding]:
        return None, Finding(checks.INPUT, Severity.ERROR, message, file=display)

    if path is None:
        stream = getattr(sys.stdin, "buffer", sys.stdin)
        if stream is None:
            return problem("cannot read stdin: it is closed (run with input on stdin, or name a file)")
        try:
            raw = stream.read(limit + 1)
        except (OSError, ValueError) as exc:
            return problem(f"cannot read stdin: {getattr(exc, 'strerror', None) or exc}")
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        if len(raw) > limit:
            return problem(f"stdin is larger than {limit:,} bytes (limits.max-input-bytes)")
        return raw, None
    try:
        # O_NONBLOCK: opening a FIFO does not wait for a writer (a file swapped for a FIFO
        # after a check would otherwise hang here); the type is then read from the open file.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return problem(f"cannot read: {exc.strerror}")
    with os.fdopen(fd, "rb", buffering=0) as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            what = (
                "a FIFO"
                if stat.S_ISFIFO(info.st_mode)
                else "a device"
                if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "not a regular file"
            )
            return problem(f"{what}: only regular files and - (stdin) are read")
        if info.st_size > limit:
            return problem(f"{info.st_size:,} bytes, larger than {limit:,} (limits.max-input-bytes)")
        try:
            raw = handle.readall() if info.st_size == 0 else _read_up_to(handle, limit + 1)
        except OSError as exc:
            return problem(f"cannot read: {exc.strerror}")
    if len(raw) > limit:
        return problem(f"larger than {limit:,} bytes (limits.max-input-bytes)")
    return raw, None


def _read_up_to(handle, size: int) -> bytes:
    chunks, total = [], 0
    while total < size:
        chunk = handle.read(min(1 << 20, size - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


class Loader:
    """Loads targets; kustomizations render in the background (each once per run)."""

    def __init__(self, config: Config, cache: RenderCache | None, jobs: int | None = None):
        self.config = config
        self.cache = cache
        self.jobs = jobs
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[Path, Future[Rendered]] = {}

    def start(self, targets: list[Target]) -> None:
        """Start rendering every kustomization target now."""
        dirs = list(
            dict.fromkeys(t.path.resolve() for t in targets if t.kind == KUSTOMIZATION and t.path is not None)
        )
        dirs = [d for d in dirs if d not in self._futures]
        if not dirs or self.cache is None:
            return
        if self._pool is None:
            workers = self.jobs or min(max(len(dirs), 1), (os.cpu_count() or 2) * 2)
            self._pool = ThreadPoolExecutor(max_workers=workers)
        timeout = self.config.limits.render_timeout_s
        for directory in dirs:
            self._futures[directory] = self._pool.submit(self.cache.render, directory, timeout)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def load(self, target: Target) -> Loaded:
        if target.kind == KUSTOMIZATION:
            loaded = self._load_rendered(target)
        elif target.kind == FOLDER:
            loaded = self._load_folder(target)
        else:
            loaded = self._load_file(target, target.path, target.display)
        # Whatever reports on this input later (an internal error included) leaves them out.
        remember(secret_values(r.data for r in loaded.resources))
        return loaded

    def load_all(self, targets: list[Target]) -> Iterator[Loaded]:
        self.start(targets)
        for target in targets:
            yield self.load(target)

    def _load_file(self, target: Target, path: Path | None, display: str) -> Loaded:
        raw, problem = read_input(path, display, self.config.limits.max_input_bytes)
        if problem is not None or raw is None:
            return Loaded(target, display, [], [problem] if problem else [])
        resources, findings = load_bytes(raw, display)
        return Loaded(target, display, resources, findings)

    def _load_folder(self, target: Target) -> Loaded:
        assert target.path is not None
        loaded = Loaded(target, target.display)
        for path in _yaml_files(target.path):
            part = self._load_file(target, path, display_path(path, self.config.root))
            loaded.resources += part.resources
            loaded.findings += part.findings
        return loaded

    def _load_rendered(self, target: Target) -> Loaded:
        assert target.path is not None
        directory = target.path.resolve()
        if directory not in self._futures:
            self.start([target])
        rendered = self._futures[directory].result()
        kustomization = find_kustomization(target.path)
        file = display_path(kustomization, self.config.root) if kustomization else target.display
        if not rendered.ok:
            return Loaded(
                target,
                file,
                [],
                [
                    Finding(
                        checks.RENDER,
                        Severity.ERROR,
                        f"kustomize build failed: {rendered.error}",
                        overlay=target.display,
                        file=file,
                    )
                ],
            )
        resources, findings = load_bytes(rendered.text.encode(), file, overlay=target.display)
        from llmfleet.pipeline.field_sources.locate import lazy_locator

        source_dir = display_path(target.path, self.config.root)
        for res in resources:
            # Lines of the rendered stream mean nothing in the kustomization file: findings are
            # traced to the source file and line instead (llmfleet.pipeline.field_sources), else the kustomization.
            res.lines = {}
            res.locate = lazy_locator(self.config.root, source_dir, res.data)
        return Loaded(target, file, resources, findings)
