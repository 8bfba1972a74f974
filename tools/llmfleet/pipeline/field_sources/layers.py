"""The layers of one overlay, in the order kustomize applies them: resource documents,
strategic-merge patches, JSON 6902 operations, generators and transformers, each with a
pointer -> line map (see the package's docstring)."""

from __future__ import annotations

import posixpath
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmfleet.infra import bounded_read
from llmfleet.model.k8s import as_dict
from llmfleet.pipeline.graph import Graph, norm
from llmfleet.pipeline.manifests import escape_pointer_token, iter_documents

MERGE_KEYS = (
    "name",
    "containerPort",
    "mountPath",
    "devicePath",
    "alert",
    "record",
    "key",
    "topologyKey",
    "port",
    "ip",
)
#: JSON 6902 operations that leave no value at their path: ``test`` only checks one (the
#: value stays the earlier layer's), ``remove`` deletes it.
NON_DEFINING_OPS = ("test", "remove")
#: Fields a patch carries only to name its target: never "defined" by the patch.
IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}

Location = tuple[str, int]


def split_pointer(pointer: str) -> list[str]:
    """Tokens of a JSON pointer, still escaped (``nvidia.com~1gpu``)."""
    return pointer.split("/")[1:] if pointer else []


def unescape_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


# -- cached file parsing --------------------------------------------------------------------

_file_cache: dict[tuple[str, int, int], list[tuple[Any, dict[str, int]]]] = {}
#: Guards the per-file parse cache here and the per-overlay tracers (locate.py).
cache_lock = threading.Lock()


def load_docs(path: Path) -> list[tuple[Any, dict[str, int]]]:
    """Every document of a YAML file with its pointer → line map, cached by mtime and size."""
    try:
        st = path.stat()
    except OSError:
        return []
    key = (str(path), st.st_mtime_ns, st.st_size)
    with cache_lock:
        if key in _file_cache:
            return _file_cache[key]
    try:
        text = bounded_read.read_text(path)
    except (OSError, UnicodeDecodeError):
        docs: list = []
    else:
        docs = parse_docs(text, str(path))
    with cache_lock:
        _file_cache[key] = docs
    return docs


def parse_docs(text: str, name: str) -> list[tuple[Any, dict[str, int]]]:
    return [
        (item[1], item[2])
        for item in iter_documents(text, name)
        if isinstance(item, tuple) and item[1] is not None
    ]


# -- layers -----------------------------------------------------------------------------------


@dataclass
class Layer:
    kind: str  # "resource" | "patch" | "json6902" | "generator" | "transform"
    file: str  # repository-relative path
    data: Any = None
    lines: dict[str, int] = field(default_factory=dict)
    offset: int = 0  # for patches written inline in a kustomization
    match_kind: str | None = None
    match_group: str | None = None
    names: tuple[str, ...] = ()  # acceptable names (resource: rendered names; patch: aliases)
    name_regex: str | None = None
    labels: dict[str, str | None] | None = None  # patch target: labelSelector requirements
    hashed: bool = False  # generated ConfigMap/Secret: a hash suffix may follow
    origin: str = ""  # resource/generator: the name as written in the source
    # generator: data key -> (file, None) or (kustomization, line)
    keys: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    # transform: pointer -> line in the kustomization, and an image matcher
    fixed: dict[str, int] = field(default_factory=dict)
    images: list[tuple[str, int]] = field(default_factory=list)
    # transform: label/annotation key -> line, for pointers ending in labels|matchLabels/<key>
    label_lines: dict[str, int] = field(default_factory=dict)
    annotations: dict[str, int] = field(default_factory=dict)


def api_group(api_version: Any) -> str:
    return str(api_version or "").rpartition("/")[0]


def selector_labels(selector: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for part in str(selector).split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part or " in " in part or " notin " in part or part.startswith("!"):
            continue  # set-based or negative requirements: not checked (a looser match)
        key, sep, value = part.partition("==" if "==" in part else "=")
        out[key.strip()] = value.strip() if sep else None
    return out


class LayerBuilder:
    """Walks an overlay's kustomization graph and collects its layers in ``self.layers``."""

    root: Path
    overlay: str
    graph: Graph
    layers: list[Layer]
    _seen: set[str]

    # -- building ---------------------------------------------------------------------------

    def _docs(self, path: str) -> list[tuple[Any, dict[str, int]]]:
        return load_docs(self.root / path)

    def _walk(self, directory: str, prefix: str, suffix: str) -> None:
        if directory in self._seen:  # a cycle, or a folder included twice
            return
        self._seen.add(directory)
        node = self.graph.node(directory)
        if node.file is None:
            return
        data, klines, kfile = node.data, node.lines, node.file
        own_prefix = str(data.get("namePrefix") or "")
        own_suffix = str(data.get("nameSuffix") or "")
        p, s = prefix + own_prefix, own_suffix + suffix
        for fieldname, _ref, path, typ in node.refs:
            if fieldname not in ("resources", "bases"):
                continue
            if typ == "dir":
                self._walk(path, p, s)
            elif typ == "file":
                self._resource_file(path, p, s)
        for fieldname in ("configMapGenerator", "secretGenerator"):
            for i, item in enumerate(data.get(fieldname) or []):
                if isinstance(item, dict):
                    self._generator(node.dir, kfile, klines, fieldname, i, item, p, s)
        for fieldname, _ref, path, typ in node.refs:
            if fieldname == "components" and typ == "dir":
                self._walk(path, p, s)
        self._patches(node.dir, kfile, klines, data, prefix, suffix, own_prefix, own_suffix)
        self._transforms(kfile, klines, data)

    def _resource_file(self, path: str, prefix: str, suffix: str) -> None:
        for doc, lines in self._docs(path):
            items = [(doc, lines, "")]
            if (
                isinstance(doc, dict)
                and str(doc.get("kind", "")).endswith("List")
                and isinstance(doc.get("items"), list)
            ):
                items = [
                    (
                        it,
                        {
                            k[len(f"/items/{i}") :]: v
                            for k, v in lines.items()
                            if k == f"/items/{i}" or k.startswith(f"/items/{i}/")
                        },
                        "",
                    )
                    for i, it in enumerate(doc["items"])
                ]
            for obj, obj_lines, _ in items:
                if not isinstance(obj, dict) or not obj.get("kind"):
                    continue
                meta = as_dict(obj.get("metadata"))
                name = str(meta.get("name") or "")
                self.layers.append(
                    Layer(
                        "resource",
                        path,
                        obj,
                        obj_lines,
                        match_kind=str(obj["kind"]),
                        match_group=api_group(obj.get("apiVersion")),
                        names=(prefix + name + suffix,),
                        origin=name,
                    )
                )

    def _generator(
        self,
        directory: str,
        kfile: str,
        klines: dict,
        fieldname: str,
        i: int,
        item: dict,
        prefix: str,
        suffix: str,
    ) -> None:
        name = str(item.get("name") or "")
        base = f"/{fieldname}/{i}"
        keys: dict[str, tuple[str, int | None]] = {}
        for ref in item.get("files") or []:
            if not isinstance(ref, str):
                continue
            key, sep, path = ref.partition("=")
            if not sep:
                key, path = posixpath.basename(ref), ref
            keys[key] = (norm(directory, path), None)
        envs: list[Any] = list(item["envs"]) if isinstance(item.get("envs"), list) else []
        if isinstance(item.get("env"), str):  # the deprecated single env file
            envs = [*envs, item["env"]]
        for ref in envs:
            if isinstance(ref, str):
                keys.update(self._env_keys(norm(directory, ref)))
        for j, literal in enumerate(item.get("literals") or []):
            if isinstance(literal, str) and "=" in literal:
                keys[literal.split("=", 1)[0]] = (kfile, klines.get(f"{base}/literals/{j}", 0))
        fixed = {"": klines.get(base, 0)}
        options = as_dict(item.get("options"))
        for section in ("annotations", "labels"):
            for k in options.get(section) or {}:
                fixed[f"/metadata/{section}/{escape_pointer_token(k)}"] = klines.get(
                    f"{base}/options/{section}/{escape_pointer_token(k)}", 0
                )
        hashed = not options.get("disableNameSuffixHash")
        kind = "ConfigMap" if fieldname == "configMapGenerator" else "Secret"
        self.layers.append(
            Layer(
                "generator",
                kfile,
                None,
                {},
                match_kind=kind,
                match_group="",
                names=(prefix + name + suffix,),
                hashed=hashed,
                origin=name,
                keys=keys,
                fixed=fixed,
            )
        )

    def _env_keys(self, path: str) -> dict[str, tuple[str, int | None]]:
        """``KEY=VALUE`` lines of a generator's env file: each key at its line."""
        try:
            text = bounded_read.read_text(self.root / path)
        except (OSError, UnicodeDecodeError):
            return {}
        keys: dict[str, tuple[str, int | None]] = {}
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if stripped and not stripped.startswith("#") and "=" in stripped:
                keys.setdefault(stripped.split("=", 1)[0].strip(), (path, number))
        return keys

    def _patch_docs(self, directory: str, kfile: str, klines: dict, fieldname: str, i: int, entry: Any):
        """(file, docs, offset) of one patch: a file, or text inline in the kustomization."""
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            path = norm(directory, entry["path"])
            return path, self._docs(path), 0
        text = entry.get("patch") if isinstance(entry, dict) else entry
        if not isinstance(text, str):
            return None
        line = klines.get(f"/{fieldname}/{i}/patch" if isinstance(entry, dict) else f"/{fieldname}/{i}", 1)
        # A block scalar starts on the line after its key.
        return kfile, parse_docs(text, kfile), line

    def _patches(
        self,
        directory: str,
        kfile: str,
        klines: dict,
        data: dict,
        outer_prefix: str,
        outer_suffix: str,
        own_prefix: str,
        own_suffix: str,
    ) -> None:
        entries = []
        for i, ref in enumerate(data.get("patchesStrategicMerge") or []):
            entries.append(
                (
                    "patchesStrategicMerge",
                    i,
                    ref if not isinstance(ref, str) or "\n" in ref else {"path": ref},
                )
            )
        for fieldname in ("patches", "patchesJson6902"):
            for i, item in enumerate(data.get(fieldname) or []):
                entries.append((fieldname, i, item))
        for fieldname, i, entry in entries:
            got = self._patch_docs(directory, kfile, klines, fieldname, i, entry)
            if got is None:
                continue
            file, docs, offset = got
            target = entry.get("target") if isinstance(entry, dict) else None
            target = target if isinstance(target, dict) else {}
            for doc, lines in docs:
                layer_kind = "json6902" if isinstance(doc, list) else "patch"
                if layer_kind == "patch" and not isinstance(doc, dict):
                    continue
                kind = target.get("kind") or (doc.get("kind") if isinstance(doc, dict) else None)
                group = target.get("group")
                if group is None and isinstance(doc, dict) and not target:
                    group = api_group(doc.get("apiVersion"))
                names: tuple[str, ...] = ()
                regex = target.get("name")
                if not target and isinstance(doc, dict):
                    meta = as_dict(doc.get("metadata"))
                    n = str(meta.get("name") or "")
                    names = tuple(
                        {
                            n,
                            outer_prefix + n + outer_suffix,
                            outer_prefix + own_prefix + n + own_suffix + outer_suffix,
                        }
                    )
                labels = selector_labels(target["labelSelector"]) if target.get("labelSelector") else None
                self.layers.append(
                    Layer(
                        layer_kind,
                        file,
                        doc,
                        lines,
                        offset,
                        match_kind=kind,
                        match_group=group,
                        names=names,
                        name_regex=str(regex) if regex else None,
                        labels=labels,
                    )
                )

    def _transforms(self, kfile: str, klines: dict, data: dict) -> None:
        fixed: dict[str, int] = {}
        if data.get("namespace"):
            fixed["/metadata/namespace"] = klines.get("/namespace", 0)
        if data.get("namePrefix") or data.get("nameSuffix"):
            fixed["/metadata/name"] = klines.get("/namePrefix", klines.get("/nameSuffix", 0))
        images = []
        for i, item in enumerate(data.get("images") or []):
            if isinstance(item, dict) and item.get("name"):
                repo = str(item.get("newName") or item["name"])
                line = klines.get(
                    f"/images/{i}/newTag", klines.get(f"/images/{i}/digest", klines.get(f"/images/{i}", 0))
                )
                images.append((repo, line))
        labels: dict[str, int] = {}
        for i, item in enumerate(data.get("labels") or []):
            if isinstance(item, dict) and isinstance(item.get("pairs"), dict):
                for k in item["pairs"]:
                    labels[str(k)] = klines.get(f"/labels/{i}/pairs/{escape_pointer_token(k)}", 0)
        for k in data.get("commonLabels") or {}:
            labels[str(k)] = klines.get(f"/commonLabels/{escape_pointer_token(k)}", 0)
        annotations = {
            str(k): klines.get(f"/commonAnnotations/{escape_pointer_token(k)}", 0)
            for k in data.get("commonAnnotations") or {}
        }
        if fixed or images or labels or annotations:
            self.layers.append(
                Layer(
                    "transform",
                    kfile,
                    fixed=fixed,
                    images=images,
                    label_lines=labels,
                    annotations=annotations,
                )
            )
