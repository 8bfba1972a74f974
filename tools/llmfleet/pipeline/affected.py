"""Which overlays (and platform kustomizations) a change can affect.

A kustomization is affected when a changed file is one it reads, directly or through the
kustomizations it includes (:mod:`llmfleet.pipeline.graph`); not from path prefixes.  The graph is
built twice, from the working tree and from the base revision, so an overlay that a change
adds or deletes (or that stops reading a file) is found too.  A change to the toolkit
itself (``llmfleet.yaml``, ``tools/llmfleet/**``, the pinned requirements that carry
kustomize) affects everything.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from llmfleet.infra import git as gitutil
from llmfleet.pipeline.config import CONFIG_FILE, Config
from llmfleet.pipeline.graph import DirReader, Graph, TreeFS

#: Files and folders whose change can change every rendering or check.
TOOLKIT_PATHS = (CONFIG_FILE, "tools/llmfleet/", "pyproject.toml", "requirements.txt")

OVERLAY = "overlay"
PLATFORM = "platform"


@dataclass
class Target:
    name: str  # overlay name, or the platform folder
    path: str  # folder relative to the repository root
    kind: str  # "overlay" | "platform"
    status: str  # "changed" | "added" | "removed"
    reasons: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "path": self.path,
            "kind": self.kind,
            "status": self.status,
            "reasons": self.reasons,
        }


@dataclass
class Affected:
    base: str
    commit: str
    changed: list[str]
    targets: list[Target]
    notes: list[str] = field(default_factory=list)
    toolkit_changed: list[str] = field(default_factory=list)

    @property
    def overlays(self) -> list[Target]:
        return [t for t in self.targets if t.kind == OVERLAY]

    @property
    def platform(self) -> list[Target]:
        return [t for t in self.targets if t.kind == PLATFORM]

    def to_json(self) -> dict:
        return {
            "base": self.base,
            "commit": self.commit,
            "changed": self.changed,
            "toolkit_changed": self.toolkit_changed,
            "overlays": [t.to_json() for t in self.overlays],
            "platform": [t.to_json() for t in self.platform],
            "notes": self.notes,
        }


def is_toolkit(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in TOOLKIT_PATHS)


def overlay_dirs(graph: Graph, config: Config, listing: set[str] | None) -> dict[str, str]:
    """``{name: folder}`` of the overlays (direct sub-folders of overlays/ with a kustomization)."""
    base = posixpath.normpath(config.overlays_dir)
    out: dict[str, str] = {}
    if listing is None:
        for d in config.overlay_dirs():
            out[d.name] = posixpath.join(base, d.name)
        return out
    for path in listing:
        parent, name = posixpath.split(path)
        if parent == base and not name.startswith(".") and graph.kustomization_file(path):
            out[name] = path
    return dict(sorted(out.items()))


def platform_dirs(graph: Graph, config: Config) -> list[str]:
    return [posixpath.normpath(p) for p in config.platform if graph.kustomization_file(posixpath.normpath(p))]


def repo_prefix(config: Config, top: Path) -> str:
    rel = config.root.resolve().relative_to(top)
    return "" if str(rel) == "." else rel.as_posix()


def compute(config: Config, base: str, option: str = "--base") -> Affected:
    root = config.root.resolve()
    top = gitutil.toplevel(root)
    commit = gitutil.resolve_ref(top, base, option)
    prefix = repo_prefix(config, top)
    changed: list[str] = []
    for name in gitutil.changed_files(top, base, option):
        if prefix:
            if not name.startswith(prefix + "/"):
                continue
            name = name[len(prefix) + 1 :]
        changed.append(name)
    head = Graph(DirReader(root))
    tree = gitutil.TreeReader(top, commit, prefix)
    old = Graph(TreeFS(tree))
    toolkit = [c for c in changed if is_toolkit(c)]

    head_overlays = overlay_dirs(head, config, None)
    old_overlays = overlay_dirs(old, config, tree.dirs)
    targets: list[Target] = []
    notes: list[str] = []
    for name in sorted(set(head_overlays) | set(old_overlays)):
        reasons: set[str] = set(toolkit)
        if name in head_overlays:
            reasons.update(head.matches(head_overlays[name], changed))
        if name in old_overlays:
            reasons.update(old.matches(old_overlays[name], changed))
        if not reasons:
            continue
        status = (
            "changed"
            if name in head_overlays and name in old_overlays
            else "added"
            if name in head_overlays
            else "removed"
        )
        path = head_overlays.get(name) or old_overlays[name]
        targets.append(Target(name, path, OVERLAY, status, sorted(reasons)))
        notes += (head if name in head_overlays else old).notes(path)
    head_platform, old_platform = platform_dirs(head, config), platform_dirs(old, config)
    for path in sorted(set(head_platform) | set(old_platform)):
        reasons = set(toolkit)
        if path in head_platform:
            reasons.update(head.matches(path, changed))
        if path in old_platform:
            reasons.update(old.matches(path, changed))
        if reasons:
            status = (
                "changed"
                if path in head_platform and path in old_platform
                else "added"
                if path in head_platform
                else "removed"
            )
            targets.append(Target(path, path, PLATFORM, status, sorted(reasons)))
            notes += (head if path in head_platform else old).notes(path)
    notes = [n for n in dict.fromkeys(notes) if "remote" in n or "not found" in n]
    return Affected(base, commit, changed, targets, notes, toolkit)


def render_text(result: Affected) -> str:
    lines = []
    width = max([len(t.name) for t in result.targets] + [8])
    for t in result.targets:
        label = t.kind if t.status == "changed" else f"{t.kind} ({t.status})"
        why = ", ".join(t.reasons[:4]) + (f", +{len(t.reasons) - 4} more" if len(t.reasons) > 4 else "")
        lines.append(f"{t.name:<{width}}  {label:<18} {why}")
    if not result.targets:
        lines.append(f"no overlay affected by the {len(result.changed)} file(s) changed since {result.base}")
    return "\n".join(lines) + "\n"


def affected_selection(config: Config, targets: list, base: str) -> tuple[list, set[str]]:
    """For ``check --changed-since``: the runner's overlay targets narrowed to the affected
    ones, and the display names of the affected platform kustomizations."""
    import sys

    result = compute(config, base, "--changed-since")
    names = {t.name for t in result.overlays if t.status != "removed"}
    kept = [t for t in targets if t.display in names]
    platform = {t.path for t in result.platform if t.status != "removed"}
    print(
        f"llmfleet: --changed-since {base}: {len(kept)} of {len(targets)} overlay(s) and "
        f"{len(platform)} platform kustomization(s) affected by {len(result.changed)} changed file(s)",
        file=sys.stderr,
    )
    for note in result.notes:
        print(f"llmfleet: note: {note}", file=sys.stderr)
    return kept, platform
