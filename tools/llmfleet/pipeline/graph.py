"""The kustomization dependency graph: which repository files each kustomization reads.

Every kustomization is parsed with PyYAML and its file references are followed, recursively
into the kustomizations it names: ``resources`` (files and folders), ``bases``,
``components``, ``patches[].path``, ``patchesStrategicMerge``, ``patchesJson6902[].path``,
``configMapGenerator`` and ``secretGenerator`` (``files``, ``envs``, ``env``),
``configurations``, ``crds``, ``openapi.path``, ``replacements[].path``, ``helmCharts``
(``valuesFile``, ``additionalValuesFiles``, the local chart folder), ``transformers``,
``generators`` and ``validators`` (folders, or plugin configuration files whose own
``path``/``paths``/``files`` are followed too).  Remote references (URLs, git) are not
followed; they become notes.

The files are read through a small reader interface, so the same graph is built from the
working tree (:class:`DirReader`) or from a commit (:class:`llmfleet.infra.git.TreeReader`).
All paths are POSIX paths relative to the repository root (the folder of ``llmfleet.yaml``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from llmfleet.infra import bounded_read
from llmfleet.pipeline.config import KUSTOMIZATION_FILES
from llmfleet.pipeline.manifests import iter_documents


class Reader(Protocol):
    def is_file(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def read_text(self, path: str) -> str | None: ...


class DirReader:
    """The working tree under ``root``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._cache: dict[str, str | None] = {}

    def is_file(self, path: str) -> bool:
        return (self.root / path).is_file()

    def is_dir(self, path: str) -> bool:
        return (self.root / path).is_dir()

    def read_text(self, path: str) -> str | None:
        if path not in self._cache:
            try:
                self._cache[path] = bounded_read.read_text(self.root / path)
            except (OSError, UnicodeDecodeError):
                self._cache[path] = None
        return self._cache[path]


class StagedReader(DirReader):
    """The working tree with ``files`` (name -> text) in the folder ``prefix`` instead of
    what is on disk there: an overlay as it would be once written."""

    def __init__(self, root: Path, prefix: str, files: dict[str, str]):
        super().__init__(root)
        self.prefix = prefix.strip("/")
        self.staged = {f"{self.prefix}/{name}": text for name, text in files.items()}

    def _inside(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def is_file(self, path: str) -> bool:
        return path in self.staged if self._inside(path) else super().is_file(path)

    def is_dir(self, path: str) -> bool:
        if self._inside(path):
            return path == self.prefix or any(p.startswith(path + "/") for p in self.staged)
        return super().is_dir(path)

    def read_text(self, path: str) -> str | None:
        return self.staged.get(path) if self._inside(path) else super().read_text(path)


class TreeFS:
    """Adapter giving a :class:`llmfleet.infra.git.TreeReader` the DirReader interface."""

    def __init__(self, tree):
        self.tree = tree

    def is_file(self, path: str) -> bool:
        return path in self.tree.files

    def is_dir(self, path: str) -> bool:
        return path in self.tree.dirs

    def read_text(self, path: str) -> str | None:
        return self.tree.read_text(path)


def is_remote(ref: str) -> bool:
    return (
        "://" in ref
        or ref.startswith(("git@", "github.com/", "gitlab.com/", "bitbucket.org/"))
        or "?ref=" in ref
        or "?version=" in ref
    )


def is_inline(ref: str) -> bool:
    """A patch or plugin configuration written inline in the kustomization (not a path)."""
    return "\n" in ref or ref.lstrip().startswith(("{", "[", "apiVersion:", "kind:", "- "))


def norm(base_dir: str, ref: str) -> str:
    joined = posixpath.normpath(posixpath.join(base_dir, ref)) if base_dir else posixpath.normpath(ref)
    return "" if joined == "." else joined


@dataclass
class Kustomization:
    """One parsed kustomization and its direct references."""

    dir: str
    file: str | None  # None: the folder has no kustomization
    data: dict = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # files read directly
    children: list[str] = field(default_factory=list)  # kustomization folders, in order
    prefixes: list[str] = field(default_factory=list)  # whole folders read (helm charts)
    notes: list[str] = field(default_factory=list)
    #: (field, reference as written, resolved path, "file" | "dir" | "missing") in order.
    refs: list[tuple[str, str, str, str]] = field(default_factory=list)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _strings(value: Any) -> list[str]:
    return [v for v in _as_list(value) if isinstance(v, str) and v.strip()]


class Graph:
    """Parsed kustomizations, cached per folder, and their transitive file sets."""

    def __init__(self, reader: Reader):
        self.reader = reader
        self._nodes: dict[str, Kustomization] = {}
        self._deps: dict[str, frozenset[str]] = {}

    # -- parsing ---------------------------------------------------------------------------

    def kustomization_file(self, directory: str) -> str | None:
        for name in KUSTOMIZATION_FILES:
            candidate = norm(directory, name)
            if self.reader.is_file(candidate):
                return candidate
        return None

    def node(self, directory: str) -> Kustomization:
        directory = norm("", directory) if directory else ""
        if directory in self._nodes:
            return self._nodes[directory]
        file = self.kustomization_file(directory)
        node = Kustomization(directory, file)
        self._nodes[directory] = node
        if file is None:
            node.notes.append(f"{directory or '.'}: no kustomization file")
            return node
        text = self.reader.read_text(file)
        data, lines = {}, {}
        for item in iter_documents(text or "", file):
            if isinstance(item, tuple):
                _, doc, doc_lines = item
                if isinstance(doc, dict):
                    data, lines = doc, doc_lines
                break
            node.notes.append(f"{file}: {item.message}")
            break
        node.data, node.lines = data, lines
        self._collect(node)
        return node

    def _ref(self, node: Kustomization, fieldname: str, ref: str, allow_dir: bool) -> None:
        if is_remote(ref):
            node.notes.append(f"{node.file}: {fieldname} {ref}: remote reference not followed")
            return
        path = norm(node.dir, ref)
        if self.reader.is_file(path):
            node.files.append(path)
            node.refs.append((fieldname, ref, path, "file"))
            if fieldname in ("transformers", "generators", "validators"):
                self._plugin_config(node, path)
        elif self.reader.is_dir(path):
            if allow_dir:
                node.children.append(path)
                node.refs.append((fieldname, ref, path, "dir"))
            else:
                node.notes.append(f"{node.file}: {fieldname} {ref}: a folder where a file is expected")
        else:
            # Missing: kustomize will fail; depend on the file and on a kustomization there,
            # so that adding either later marks this kustomization affected.
            node.files.append(path)
            if allow_dir:
                node.files.extend(norm(path, n) for n in KUSTOMIZATION_FILES)
            node.refs.append((fieldname, ref, path, "missing"))
            node.notes.append(f"{node.file}: {fieldname} {ref}: not found")

    def _plugin_config(self, node: Kustomization, path: str) -> None:
        """Builtin transformer/generator configurations name files too (relative to the
        kustomization's folder): ``path``/``paths`` of the patch transformers, ``files``,
        ``envs``, ``env`` of the generators, ``replacements[].path``."""
        text = self.reader.read_text(path) or ""
        docs = [item[1] for item in iter_documents(text, path) if isinstance(item, tuple)]
        for data in docs:
            if not isinstance(data, dict):
                continue
            for key in ("path", "env", "valuesFile"):
                if isinstance(data.get(key), str) and not is_inline(data[key]):
                    self._ref(node, key, data[key], False)
            for key in ("paths", "envs", "files", "additionalValuesFiles"):
                for ref in _strings(data.get(key)):
                    self._ref(node, key, ref.split("=", 1)[-1] if key == "files" else ref, False)
            for item in _as_list(data.get("replacements")):
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    self._ref(node, "replacements", item["path"], False)

    def _collect(self, node: Kustomization) -> None:
        data = node.data
        for fieldname in ("resources", "bases", "components"):
            for ref in _strings(data.get(fieldname)):
                self._ref(node, fieldname, ref, True)
        for fieldname in ("transformers", "generators", "validators"):
            for ref in _strings(data.get(fieldname)):
                if not is_inline(ref):
                    self._ref(node, fieldname, ref, True)
        for ref in _strings(data.get("patchesStrategicMerge")):
            if not is_inline(ref):
                self._ref(node, "patchesStrategicMerge", ref, False)
        for fieldname in ("patches", "patchesJson6902", "replacements"):
            for item in _as_list(data.get(fieldname)):
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    self._ref(node, fieldname, item["path"], False)
        for fieldname in ("configMapGenerator", "secretGenerator"):
            for item in _as_list(data.get(fieldname)):
                if not isinstance(item, dict):
                    continue
                for ref in _strings(item.get("files")):
                    self._ref(node, fieldname, ref.split("=", 1)[-1], False)
                for ref in [*_strings(item.get("envs")), *_strings(item.get("env"))]:
                    self._ref(node, fieldname, ref, False)
        for fieldname in ("configurations", "crds"):
            for ref in _strings(data.get(fieldname)):
                self._ref(node, fieldname, ref, False)
        openapi = data.get("openapi")
        if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
            self._ref(node, "openapi", openapi["path"], False)
        globals_: dict[str, Any] = data["helmGlobals"] if isinstance(data.get("helmGlobals"), dict) else {}
        chart_home = globals_.get("chartHome") or "charts"
        for chart in _as_list(data.get("helmCharts")):
            if not isinstance(chart, dict):
                continue
            for ref in [*_strings(chart.get("valuesFile")), *_strings(chart.get("additionalValuesFiles"))]:
                self._ref(node, "helmCharts", ref, False)
            if chart.get("repo") and is_remote(str(chart["repo"])):
                node.notes.append(
                    f"{node.file}: helmCharts {chart.get('name')}: remote chart {chart['repo']} not followed"
                )
            if isinstance(chart.get("name"), str):
                node.prefixes.append(norm(node.dir, posixpath.join(str(chart_home), chart["name"])) + "/")

    # -- queries ----------------------------------------------------------------------------

    def deps(self, directory: str) -> frozenset[str]:
        """Every file the kustomization in ``directory`` reads, transitively (its own
        kustomization file included).  Whole folders (local helm charts) end with ``/``."""
        directory = norm("", directory) if directory else ""
        if directory in self._deps:
            return self._deps[directory]
        self._deps[directory] = frozenset()  # a cycle: kustomize reports it; do not loop
        node = self.node(directory)
        out: set[str] = set(node.files) | set(node.prefixes)
        if node.file:
            out.add(node.file)
        else:
            out.update(norm(directory, n) for n in KUSTOMIZATION_FILES)
        for child in node.children:
            out |= self.deps(child)
        self._deps[directory] = frozenset(out)
        return self._deps[directory]

    def notes(self, directory: str) -> list[str]:
        seen: set[str] = set()
        out: list[str] = []

        def walk(d: str) -> None:
            if d in seen:
                return
            seen.add(d)
            node = self.node(d)
            out.extend(node.notes)
            for child in node.children:
                walk(child)

        walk(norm("", directory) if directory else "")
        return list(dict.fromkeys(out))

    def matches(self, directory: str, changed: Iterable[str]) -> list[str]:
        """The changed files that the kustomization in ``directory`` depends on."""
        deps = self.deps(directory)
        prefixes = [d for d in deps if d.endswith("/")]
        return sorted(c for c in changed if c in deps or any(c.startswith(p) for p in prefixes))
