"""A persistent, content-addressed cache of rendered kustomizations.

The key of a render is a SHA-256 over: the cache format version, the renderer's identity
(its resolved path, size and modification time: a new kustomize or kubectl is a new key),
the kustomization's folder, and the path and content of every file of its kustomization graph
(``llmfleet.pipeline.graph``: resources, components, patches, generator files, configurations, local
Helm charts...).  A kustomization with a remote reference (a URL or git resource, a remote
chart) is never cached.  Only successful renders are stored.

Entries live in ``.llmfleet-cache/render/`` under the repository root (or
``$LLMFLEET_CACHE_DIR/render``); ``make clean`` or deleting the folder clears them, and
``--no-cache`` bypasses them.  ``check``, ``lint``, ``validate`` and ``diff`` (both sides: the
base revision's worktree uses the repository's entries) read and fill them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

from llmfleet.infra import bounded_read
from llmfleet.pipeline import render as render_mod
from llmfleet.pipeline.config import cache_root
from llmfleet.pipeline.graph import DirReader, Graph, StagedReader

FORMAT = "llmfleet-render-cache-1"


def _hash_path(
    hasher: hashlib._Hash,
    root: Path,
    relative: str,
    staged: dict[str, str] | None = None,
    prefix: str = "",
    max_bytes: int = bounded_read.DEFAULT_MAX_BYTES,
) -> None:
    """``staged``: the files (path relative to the root -> text) of the folder ``prefix``,
    which replace whatever the disk has there."""
    staged = staged or {}
    path = root / relative
    hasher.update(b"\0path\0" + relative.encode())
    if relative.endswith("/"):
        on_disk = (
            (p.relative_to(root).as_posix() for p in path.rglob("*") if p.is_file()) if path.is_dir() else ()
        )
        children = {p for p in on_disk if not (prefix and p.startswith(prefix + "/"))}
        children |= {p for p in staged if p.startswith(relative)}
        for child in sorted(children):
            _hash_path(hasher, root, child, staged, prefix, max_bytes)
        return
    if relative in staged:
        hasher.update(hashlib.sha256(staged[relative].encode("utf-8")).digest())
        return
    content = hashlib.sha256()
    try:
        # A FIFO, a device or an oversized file is refused before a byte is read (Refused
        # goes up: the render fails at once, as kustomize itself would).
        for piece in bounded_read.chunks(path, max_bytes):
            content.update(piece)
    except bounded_read.Refused:
        raise
    except OSError:
        hasher.update(b"\0missing")
        return
    hasher.update(content.digest())


def _shown(exc: OSError, root: Path) -> str:
    """A refusal's message with the path relative to the repository root."""
    return str(exc).replace(f"{root}/", "")


class RenderCache:
    def __init__(
        self,
        root: Path,
        renderer: render_mod.Renderer,
        enabled: bool = True,
        cache_of: Path | None = None,
        aliases: dict[Path, tuple[str, dict[str, str]]] | None = None,
        max_bytes: int = bounded_read.DEFAULT_MAX_BYTES,
    ):
        """``cache_of``: the repository whose cache folder to use (default ``root``); a
        checkout of another revision in a temporary folder shares the repository's entries,
        since keys hold paths relative to the root.  ``aliases``: folders (a staged or
        temporary copy of an overlay) keyed as ``(folder relative to the root, files)``, the
        overlay they will be written as (see :meth:`key_of_files`)."""
        self.root = root.resolve()
        self.renderer = renderer
        #: The largest file of a kustomization graph read (limits.max-input-bytes).
        self.max_bytes = max_bytes
        self.enabled = enabled
        self.folder = cache_root((cache_of or root).resolve()) / "render"
        self.aliases = {Path(folder).resolve(): alias for folder, alias in (aliases or {}).items()}
        self.graph = Graph(DirReader(self.root))
        # Renders run in threads; the graph's caches are not thread-safe (a dependency being
        # computed by one thread looks empty to another), so keys are computed one at a time.
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def check_files(self, directory: Path) -> None:
        """Refuse (:class:`bounded_read.Refused`) a kustomization whose graph holds a file
        that is not a regular one or is over the size limit, before kustomize runs: kustomize
        waits on a FIFO for ever and reads a 5 GB sparse file whole.  Only the file's type and
        size are looked at (``stat``), nothing is read."""
        try:
            relative = directory.resolve().relative_to(self.root).as_posix()
        except (ValueError, OSError):
            return
        relative = "" if relative == "." else relative
        with self._lock:
            deps = self.graph.deps(relative)
        for dep in sorted(deps):
            if dep.startswith("../"):
                continue
            path = self.root / dep
            if dep.endswith("/"):
                files = bounded_read.walk_files(path) if path.is_dir() else ()
                for child in files:
                    bounded_read.check_stat(child, self.max_bytes)
            else:
                bounded_read.check_stat(path, self.max_bytes)

    def key(self, directory: Path) -> str | None:
        """The cache key of a kustomization, or None when it cannot be cached."""
        alias = self.aliases.get(directory.resolve())
        if alias is not None:
            with self._lock:
                return self.key_of_files(*alias)
        try:
            relative = directory.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None
        relative = "" if relative == "." else relative
        with self._lock:
            deps = self.graph.deps(relative)
            notes = self.graph.notes(relative)
        if any("remote" in note for note in notes):
            return None
        if any(dep.startswith("../") for dep in deps):
            return None
        hasher = hashlib.sha256(f"{FORMAT}\0{self.renderer.identity}\0{relative}".encode())
        for dep in sorted(deps):
            _hash_path(hasher, self.root, dep, max_bytes=self.max_bytes)
        return hasher.hexdigest()

    def key_of_files(self, relative: str, files: dict[str, str]) -> str | None:
        """The key the kustomization in ``relative`` (a folder under the root) will have once
        ``files`` (name -> text) are written there, replacing what is there now; None when
        it cannot be cached.  Lets a render of the same files elsewhere (``new-model``
        measures names in a temporary folder) be stored under the overlay's own key."""
        relative = relative.strip("/")
        graph = Graph(StagedReader(self.root, relative, files))
        deps, notes = graph.deps(relative), graph.notes(relative)
        if any("remote" in note for note in notes) or any(dep.startswith("../") for dep in deps):
            return None
        staged = {f"{relative}/{name}": text for name, text in files.items()}
        hasher = hashlib.sha256(f"{FORMAT}\0{self.renderer.identity}\0{relative}".encode())
        for dep in sorted(deps):
            _hash_path(hasher, self.root, dep, staged, relative, self.max_bytes)
        return hasher.hexdigest()

    def lookup(self, key: str | None) -> str | None:
        """The rendered text stored under ``key``, if any (and the cache is enabled)."""
        if not self.enabled or key is None:
            return None
        try:
            text = (self.folder / f"{key}.yaml").read_text(encoding="utf-8")
        except OSError:
            self.misses += 1
            return None
        self.hits += 1
        return text

    def store(self, key: str | None, text: str) -> None:
        """Keep a successful render under ``key``."""
        if self.enabled and key is not None:
            self._store(self.folder / f"{key}.yaml", text)

    def render(self, directory: Path, timeout: float | None = None) -> render_mod.Rendered:
        try:
            if directory.resolve() not in self.aliases:
                self.check_files(directory)
            key = self.key(directory) if self.enabled else None
        except bounded_read.Refused as exc:
            return render_mod.Rendered(directory, False, error=f"{_shown(exc, self.root)}")
        entry = self.folder / f"{key}.yaml" if key else None
        if entry is not None and entry.is_file():
            try:
                text = entry.read_text(encoding="utf-8")
            except OSError:
                text = None
            if text is not None:
                self.hits += 1
                return render_mod.Rendered(directory, True, text)
        self.misses += 1
        rendered = render_mod.render(directory, self.renderer, timeout)
        if entry is not None and rendered.ok:
            self._store(entry, rendered.text)
        return rendered

    def _store(self, entry: Path, text: str) -> None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=entry.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, entry)
        except OSError:
            pass  # a cache that cannot be written is only slower
