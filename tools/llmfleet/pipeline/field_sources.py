"""Trace a field of a rendered object back to the repository file and line it came from.

For one overlay the kustomization graph (:mod:`llmfleet.pipeline.graph`) is walked in the order
kustomize applies it: a kustomization's resources (files, and other kustomizations
recursively), its generators, its components, then its own patches and transformers
(``images``, ``namespace``, ``namePrefix``).  That gives an ordered list of *layers*, each a
source document with a pointer → line map (from :func:`llmfleet.pipeline.manifests.iter_documents`):

* resource documents (``base/deployment.yaml``), matched on kind, API group and name with
  the accumulated ``namePrefix``/``nameSuffix`` (and a generator hash suffix);
* strategic-merge patches (component and overlay patches, files or inline), matched on the
  patch's own kind and name, or on ``target`` (kind, name regex, label selector);
* JSON 6902 operations, matched on ``target``; an operation defines its ``path`` and what
  its ``value`` holds (``test`` and ``remove`` define nothing: the components' patches on a
  LeaderWorkerSet test ``containers/0/name`` before they touch container 0);
* ConfigMaps and Secrets from ``configMapGenerator``/``secretGenerator``: ``/data/<key>``
  maps to the file (line 1) and, deeper (``/data/serve.yaml/max-model-len``), to the line
  of that key inside the file; literals and ``options`` map to the kustomization.

A JSON pointer is then located in the layer that defines the deepest part of it (list items
matched on merge keys such as ``name``, so container 0 of a patch is the same container
wherever it ends up); on a tie the later layer (an overlay patch over the base) wins.
Parsing is cached per file and per overlay, and a tracer is only built for an overlay
once a finding asks for a location, so checking stays as fast as rendering.
"""

from __future__ import annotations

import os
import posixpath
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmfleet.infra import bounded_read
from llmfleet.model.k8s import HASH_SUFFIX, as_dict
from llmfleet.pipeline.graph import DirReader, Graph, norm
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


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


# -- cached file parsing --------------------------------------------------------------------

_file_cache: dict[tuple[str, int, int], list[tuple[Any, dict[str, int]]]] = {}
_lock = threading.Lock()


def load_docs(path: Path) -> list[tuple[Any, dict[str, int]]]:
    """Every document of a YAML file with its pointer → line map, cached by mtime and size."""
    try:
        st = path.stat()
    except OSError:
        return []
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _lock:
        if key in _file_cache:
            return _file_cache[key]
    try:
        text = bounded_read.read_text(path)
    except (OSError, UnicodeDecodeError):
        docs: list = []
    else:
        docs = parse_docs(text, str(path))
    with _lock:
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


def _group(api_version: Any) -> str:
    return str(api_version or "").rpartition("/")[0]


def _labels_of(selector: str) -> dict[str, str | None]:
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


class Tracer:
    """The layers of one overlay, and a locator for each rendered object."""

    def __init__(self, root: Path, overlay: str, graph: Graph | None = None):
        self.root = Path(root)
        self.overlay = overlay
        self.graph = graph or Graph(DirReader(self.root))
        self.layers: list[Layer] = []
        self._seen: set[str] = set()
        self._walk(overlay, "", "")

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
                        match_group=_group(obj.get("apiVersion")),
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
                    group = _group(doc.get("apiVersion"))
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
                labels = _labels_of(target["labelSelector"]) if target.get("labelSelector") else None
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

    # -- matching ---------------------------------------------------------------------------

    def _matches(self, layer: Layer, obj: dict, aliases: set[str]) -> bool:
        kind = str(obj.get("kind") or "")
        if layer.match_kind and layer.match_kind != kind:
            return False
        if layer.match_group is not None and layer.match_group != _group(obj.get("apiVersion")):
            return False
        if layer.name_regex is not None:
            pattern = re.compile(f"(?:{layer.name_regex})\\Z")
            if not any(pattern.match(a) for a in aliases):
                return False
        if layer.labels:
            meta = as_dict(obj.get("metadata"))
            have = as_dict(meta.get("labels"))
            for k, v in layer.labels.items():
                if k not in have or (v is not None and str(have[k]) != v):
                    return False
        if layer.names and not aliases.intersection(layer.names):
            return False
        return True

    def layers_for(self, obj: dict) -> list[Layer]:
        """The layers that make up ``obj``, in the order they apply."""
        meta = as_dict(obj.get("metadata"))
        name = str(meta.get("name") or "")
        kind = str(obj.get("kind") or "")
        stripped = HASH_SUFFIX.sub("", name) if kind in ("ConfigMap", "Secret") else name
        aliases = {name, stripped}
        origins = [
            layer
            for layer in self.layers
            if layer.kind in ("resource", "generator")
            and self._matches(layer, obj, {stripped if layer.hashed else name})
        ]
        if not origins:  # an unexpected prefix: fall back to a name ending with the source name
            origins = [
                layer
                for layer in self.layers
                if layer.kind in ("resource", "generator")
                and layer.match_kind == kind
                and layer.origin
                and stripped.endswith(layer.origin)
            ]
        aliases.update(layer.origin for layer in origins)
        out = []
        for layer in self.layers:
            if layer.kind in ("resource", "generator"):
                if layer in origins:
                    out.append(layer)
            elif layer.kind == "transform":
                out.append(layer)
            elif self._matches(layer, obj, aliases):
                out.append(layer)
        return out

    # -- locating ---------------------------------------------------------------------------

    def _in_doc(self, layer: Layer, obj: dict, tokens: list[str]) -> tuple[int, int]:
        """(depth, line) of the deepest prefix of ``tokens`` that the layer's document holds."""
        if layer.kind == "patch" and any(tuple(tokens[: len(i)]) == i for i in IDENTITY):
            return -1, 0
        src, ptr = layer.data, ""
        rendered: Any = obj
        depth, line = 0, layer.lines.get("", 0)
        for token in tokens:
            if isinstance(src, dict):
                key = _unescape(token)
                if key not in src:
                    break
                src = src[key]
                rendered = rendered.get(key) if isinstance(rendered, dict) else None
                ptr += "/" + token
            elif isinstance(src, list):
                j = self._list_index(layer, src, rendered, token)
                if j is None:
                    break
                rendered = (
                    rendered[int(token)]
                    if isinstance(rendered, list) and token.isdigit() and int(token) < len(rendered)
                    else None
                )
                src = src[j]
                ptr += f"/{j}"
            else:
                break
            depth += 1
            line = layer.lines.get(ptr, line)
        if depth == 0 and layer.kind != "resource":
            return -1, 0
        return depth, line

    @staticmethod
    def _list_index(layer: Layer, src: list, rendered: Any, token: str) -> int | None:
        if not token.isdigit():
            return None
        i = int(token)
        item = rendered[i] if isinstance(rendered, list) and i < len(rendered) else None
        if isinstance(item, dict):
            for key in MERGE_KEYS:
                if key in item:
                    for j, cand in enumerate(src):
                        if isinstance(cand, dict) and cand.get(key) == item[key]:
                            return j
                    return None
        if layer.kind == "resource" and isinstance(rendered, list) and len(src) == len(rendered):
            return i
        if layer.kind == "resource" and item is None and i < len(src):
            return i
        return None

    def _in_ops(self, layer: Layer, obj: dict, tokens: list[str]) -> tuple[int, int]:
        best = (-1, 0)
        for i, op in enumerate(layer.data or []):
            if (
                not isinstance(op, dict)
                or op.get("op") in NON_DEFINING_OPS
                or not isinstance(op.get("path"), str)
            ):
                continue
            op_tokens = split_pointer(op["path"])
            if op_tokens and op_tokens[-1] == "-":
                # An append: the element it added is the one equal to its value.
                n = len(op_tokens)
                if (
                    len(tokens) < n
                    or tokens[: n - 1] != op_tokens[:-1]
                    or not tokens[n - 1].isdigit()
                    or _get(obj, tokens[:n]) != op.get("value")
                ):
                    continue
                op_tokens = tokens[:n]
            if len(op_tokens) > len(tokens) or tokens[: len(op_tokens)] != op_tokens:
                continue
            depth, line = len(op_tokens), layer.lines.get(f"/{i}", 0)
            value, ptr = op.get("value"), f"/{i}/value"
            line = layer.lines.get(ptr, line) if depth == len(tokens) else line
            for token in tokens[len(op_tokens) :]:
                key: Any = _unescape(token)
                if isinstance(value, dict) and key in value:
                    value = value[key]
                elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
                    value = value[int(token)]
                else:
                    break
                ptr += "/" + token
                depth += 1
                line = layer.lines.get(ptr, line)
            if depth >= best[0]:
                best = (depth, line)
        return best

    def _in_generator(self, layer: Layer, tokens: list[str]) -> tuple[str, int, int]:
        pointer = "/" + "/".join(tokens) if tokens else ""
        if pointer in layer.fixed:
            return layer.file, layer.fixed[pointer], len(tokens)
        if len(tokens) >= 2 and tokens[0] in ("data", "binaryData", "stringData"):
            key = _unescape(tokens[1])
            if key in layer.keys:
                file, line = layer.keys[key]
                if line is not None:
                    return file, line, 2
                depth, line = 2, 1
                rest = tokens[2:]
                if rest:
                    docs = self._docs(file)
                    if docs:
                        lines = docs[0][1]
                        for n in range(len(rest), 0, -1):
                            sub = "/" + "/".join(rest[:n])
                            if sub in lines:
                                depth, line = 2 + n, lines[sub]
                                break
                return file, line, depth
        return layer.file, layer.fixed.get("", 0), 0

    def locate(self, obj: dict, pointer: str, layers: list[Layer] | None = None) -> Location | None:
        tokens = split_pointer(pointer)
        layers = self.layers_for(obj) if layers is None else layers
        best: tuple[int, int, str, int] | None = None  # depth, order, file, line
        for order, layer in enumerate(layers):
            if layer.kind == "generator":
                file, line, depth = self._in_generator(layer, tokens)
            elif layer.kind == "json6902":
                depth, line = self._in_ops(layer, obj, tokens)
                file = layer.file
                if layer.offset and line:
                    line += layer.offset
            elif layer.kind == "transform":
                file, depth, line = layer.file, -1, 0
                key = _unescape(tokens[-1]) if tokens else ""
                parent = tokens[-2] if len(tokens) >= 2 else ""
                if pointer in layer.fixed:
                    depth, line = len(tokens), layer.fixed[pointer]
                elif parent in ("labels", "matchLabels") and key in layer.label_lines:
                    depth, line = len(tokens), layer.label_lines[key]
                elif parent == "annotations" and key in layer.annotations:
                    depth, line = len(tokens), layer.annotations[key]
                elif tokens and tokens[-1] == "image" and layer.images:
                    value = _get(obj, tokens)
                    if isinstance(value, str):
                        repo = re.split(r"[@]", value)[0]
                        repo = repo.rsplit(":", 1)[0] if repo.rfind(":") > repo.rfind("/") else repo
                        for name, line_ in layer.images:
                            if name == repo:
                                depth, line = len(tokens), line_
            else:
                depth, line = self._in_doc(layer, obj, tokens)
                file = layer.file
                if layer.offset and line:
                    line += layer.offset
            if depth < 0 or not line:
                continue
            if best is None or depth >= best[0]:
                best = (depth, order, file, line)
        if best is None:
            return None
        return best[2], best[3]

    def locator(self, obj: dict) -> Callable[[str], Location | None]:
        cache: dict[str, Location | None] = {}
        layers: list[Layer] | None = None

        def locate(pointer: str) -> Location | None:
            nonlocal layers
            if pointer not in cache:
                if layers is None:
                    layers = self.layers_for(obj)
                cache[pointer] = self.locate(obj, pointer, layers)
            return cache[pointer]

        return locate


def _get(obj: Any, tokens: list[str]) -> Any:
    for token in tokens:
        if isinstance(obj, dict):
            obj = obj.get(_unescape(token))
        elif isinstance(obj, list) and token.isdigit() and int(token) < len(obj):
            obj = obj[int(token)]
        else:
            return None
    return obj


# -- per-run cache, and the hook the runner uses ------------------------------------------------

_tracers: dict[tuple[str, str], tuple[tuple, Tracer]] = {}


def _stamp(root: Path, graph_files: list[str]) -> tuple:
    out = []
    for f in graph_files:
        try:
            st = os.stat(root / f)
            out.append((f, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((f, 0, 0))
    return tuple(out)


def tracer_for(root: Path, overlay: str) -> Tracer:
    """The tracer of an overlay folder (relative to ``root``), reused while its files are
    unchanged."""
    root = Path(root).resolve()
    key = (str(root), overlay)
    with _lock:
        cached = _tracers.get(key)
    if cached is not None and _stamp(root, [f for f, _, _ in cached[0]]) == cached[0]:
        return cached[1]
    graph = Graph(DirReader(root))
    tracer = Tracer(root, overlay, graph)
    stamp = _stamp(root, sorted(f for f in graph.deps(overlay) if not f.endswith("/")))
    with _lock:
        _tracers[key] = (stamp, tracer)
    return tracer


def lazy_locator(root: Path, overlay: str, obj: dict) -> Callable[[str], Location | None]:
    """A locator for one rendered object that builds the overlay's tracer on first use; a
    tracing failure falls back to the kustomization (None), never breaks a check."""
    inner: list[Callable[[str], Location | None]] = []

    def locate(pointer: str) -> Location | None:
        try:
            if not inner:
                inner.append(tracer_for(root, overlay).locator(obj))
            return inner[0](pointer)
        except Exception:
            return None

    return locate
