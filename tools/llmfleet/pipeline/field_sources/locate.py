"""Locate a JSON pointer of a rendered object in the layer that defines it."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llmfleet.model.k8s import HASH_SUFFIX, as_dict
from llmfleet.pipeline.field_sources.layers import (
    IDENTITY,
    MERGE_KEYS,
    NON_DEFINING_OPS,
    Layer,
    LayerBuilder,
    Location,
    api_group,
    cache_lock,
    split_pointer,
    unescape_token,
)
from llmfleet.pipeline.graph import DirReader, Graph


class Tracer(LayerBuilder):
    """The layers of one overlay, and a locator for each rendered object."""

    def __init__(self, root: Path, overlay: str, graph: Graph | None = None):
        self.root = Path(root)
        self.overlay = overlay
        self.graph = graph or Graph(DirReader(self.root))
        self.layers: list[Layer] = []
        self._seen: set[str] = set()
        self._walk(overlay, "", "")

    # -- matching ---------------------------------------------------------------------------

    def _matches(self, layer: Layer, obj: dict, aliases: set[str]) -> bool:
        kind = str(obj.get("kind") or "")
        if layer.match_kind and layer.match_kind != kind:
            return False
        if layer.match_group is not None and layer.match_group != api_group(obj.get("apiVersion")):
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
                key = unescape_token(token)
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
                key: Any = unescape_token(token)
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
            key = unescape_token(tokens[1])
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
                key = unescape_token(tokens[-1]) if tokens else ""
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
            obj = obj.get(unescape_token(token))
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
    with cache_lock:
        cached = _tracers.get(key)
    if cached is not None and _stamp(root, [f for f, _, _ in cached[0]]) == cached[0]:
        return cached[1]
    graph = Graph(DirReader(root))
    tracer = Tracer(root, overlay, graph)
    stamp = _stamp(root, sorted(f for f in graph.deps(overlay) if not f.endswith("/")))
    with cache_lock:
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
