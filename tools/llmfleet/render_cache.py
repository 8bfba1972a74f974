"""A persistent, content-addressed cache of rendered kustomizations.

The key of a render is a SHA-256 over: the cache format version, the renderer's identity
(its resolved path, size and modification time: a new kustomize or kubectl is a new key),
the kustomization's folder, and the path and content of every file of its kustomization graph
(``llmfleet.graph``: resources, components, patches, generator files, configurations, local
Helm charts...).  A kustomization with a remote reference (a URL or git resource, a remote
chart) is never cached.  Only successful renders are stored.

Entries live in ``.llmfleet-cache/render/`` under the repository root (or
``$LLMFLEET_CACHE_DIR/render``); ``make clean`` or deleting the folder clears them, and
``--no-cache`` bypasses them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from pathlib import Path

from llmfleet import render as render_mod
from llmfleet.graph import DirReader, Graph

FORMAT = "llmfleet-render-cache-1"


def cache_root(root: Path) -> Path:
    env = os.environ.get("LLMFLEET_CACHE_DIR")
    return Path(env) if env else root / ".llmfleet-cache"


def _hash_path(hasher: hashlib._Hash, root: Path, relative: str) -> None:
    path = root / relative
    hasher.update(b"\0path\0" + relative.encode())
    if relative.endswith("/"):
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                _hash_path(hasher, root, child.relative_to(root).as_posix())
        return
    try:
        hasher.update(hashlib.sha256(path.read_bytes()).digest())
    except OSError:
        hasher.update(b"\0missing")


class RenderCache:
    def __init__(self, root: Path, renderer: render_mod.Renderer, enabled: bool = True):
        self.root = root.resolve()
        self.renderer = renderer
        self.enabled = enabled
        self.folder = cache_root(self.root) / "render"
        self.graph = Graph(DirReader(self.root))
        # Renders run in threads; the graph's caches are not thread-safe (a dependency being
        # computed by one thread looks empty to another), so keys are computed one at a time.
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, directory: Path) -> str | None:
        """The cache key of a kustomization, or None when it cannot be cached."""
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
            _hash_path(hasher, self.root, dep)
        return hasher.hexdigest()

    def render(self, directory: Path, timeout: float) -> render_mod.Rendered:
        key = self.key(directory) if self.enabled else None
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
