"""Load Kubernetes YAML into resources that remember where each field came from.

Every input (a file, stdin, or an overlay's rendered output) becomes a list of
:class:`Resource` plus a list of input :class:`Finding` for what could not be loaded.
One bad document never hides the others.  Line numbers come from PyYAML's node marks,
so a finding's JSON pointer can be turned back into a line.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from llmfleet.checks import (EMPTY_INPUT, NOT_KUBERNETES, YAML_ALIAS_BOMB, YAML_DEPTH,
                             YAML_DUPLICATE_KEY, YAML_ENCODING, YAML_SYNTAX)
from llmfleet.findings import Finding, Severity
from llmfleet.model.k8s import Resource, escape_pointer_token, pointer  # noqa: F401  (re-exported)

#: Alias expansions allowed in one document: Kubernetes manifests use few or none; a
#: "billion laughs" document hits this in milliseconds instead of exhausting memory.
MAX_ALIAS_EXPANSIONS = 100_000
#: Nesting depth allowed in one document (Kubernetes objects nest a few dozen levels).
MAX_DEPTH = 200

#: Input error ids (reported as findings with this ``rule``).
# libyaml's C scanner and parser when PyYAML was built with it: the same node marks,
# several times faster on large rendered overlays.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)




class _AliasBomb(Exception):
    pass


class _TooDeep(Exception):
    pass


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first_line: int):
        super().__init__(key)
        self.key, self.line, self.first_line = key, line, first_line


class _Builder:
    """Turns a composed YAML node graph into Python data and a pointer → line map.

    Alias expansions (a node built again because an alias refers to it) are counted per
    document: a "billion laughs" document trips the limit in milliseconds, while a large
    document without aliases, or a stream of many documents, loads whatever its size."""

    def __init__(self, line_offset: int = 0):
        self.constructor = SafeConstructor()
        self.lines: dict[str, int] = {}
        self.offset = line_offset
        self.built: set[int] = set()
        self.expansions = 0

    def build(self, node: Node, path: str = "", depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise _TooDeep()
        if id(node) in self.built:
            self.expansions += 1
            if self.expansions > MAX_ALIAS_EXPANSIONS:
                raise _AliasBomb()
        else:
            self.built.add(id(node))
        self.lines.setdefault(path, node.start_mark.line + 1 + self.offset)
        if isinstance(node, MappingNode):
            self.constructor.flatten_mapping(node)
            result: dict = {}
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise ConstructorError(None, None, "found an unhashable or complex key",
                                           key_node.start_mark)
                line = key_node.start_mark.line + 1 + self.offset
                if key in seen:
                    raise _DuplicateKey(str(key), line, seen[key])
                seen[key] = line
                child = f"{path}/{escape_pointer_token(key)}"
                self.lines[child] = line
                result[key] = self.build(value_node, child, depth + 1)
            return result
        if isinstance(node, SequenceNode):
            return [self.build(item, f"{path}/{i}", depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.constructor.construct_object(node)


def _mark_line(exc: yaml.YAMLError, offset: int = 0) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 + offset if mark is not None else 0


def _short_yaml_error(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [p for p in (exc.context, exc.problem) if p]
        return ", ".join(parts) or str(exc)
    return str(exc).splitlines()[0]


def decode(raw: bytes, file: str) -> tuple[str | None, Finding | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Finding(YAML_ENCODING, Severity.ERROR,
                             f"not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                             f"cannot be decoded ({exc.reason})", file=file, line=line)


#: A document start or end marker at the start of a line.  Block scalars are indented, so a
#: marker at column 0 always separates documents.
_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t]|$)", re.MULTILINE)


def split_documents(text: str) -> Iterator[tuple[int, str]]:
    """``(first line, text)`` of each document of a stream, so that one broken document
    cannot hide the ones after it."""
    starts = [m.start() for m in _MARKER.finditer(text)]
    bounds = [0, *starts, len(text)]
    for begin, end in zip(bounds, bounds[1:]):
        chunk = text[begin:end]
        if begin in starts and chunk.startswith("..."):
            continue                                   # document end: nothing after it
        if chunk.strip() and not all(line.lstrip().startswith("#") or not line.strip()
                                     or line.startswith("%") or line.strip() == "---"
                                     for line in chunk.splitlines()):
            yield text.count("\n", 0, begin), chunk


def iter_documents(text: str, file: str) -> Iterator[tuple[int, Any, dict[str, int]] | Finding]:
    """Yield ``(doc_index, data, lines)`` per document, or a Finding for each document that
    cannot be loaded; the other documents are still loaded."""
    for index, (offset, chunk) in enumerate(split_documents(text)):
        loader = _Loader(chunk)
        try:
            node = loader.get_single_node()
            if node is None:
                continue
            builder = _Builder(offset)
            try:
                data = builder.build(node)
            except _AliasBomb:
                yield Finding(YAML_ALIAS_BOMB, Severity.ERROR,
                              f"document {index + 1} expands YAML aliases more than "
                              f"{MAX_ALIAS_EXPANSIONS:,} times (alias bomb); refusing to load it",
                              file=file, line=node.start_mark.line + 1 + offset)
                continue
            except _TooDeep:
                yield Finding(YAML_DEPTH, Severity.ERROR,
                              f"document {index + 1} nests deeper than {MAX_DEPTH} levels; "
                              "refusing to load it", file=file, line=node.start_mark.line + 1 + offset)
                continue
            except _DuplicateKey as dup:
                yield Finding(YAML_DUPLICATE_KEY, Severity.ERROR,
                              f"duplicate key {dup.key!r} (first at line {dup.first_line})",
                              file=file, line=dup.line)
                continue
            except ConstructorError as exc:
                yield Finding(YAML_SYNTAX, Severity.ERROR, _short_yaml_error(exc),
                              file=file, line=_mark_line(exc, offset))
                continue
            yield index, data, builder.lines
        except yaml.YAMLError as exc:
            yield Finding(YAML_SYNTAX, Severity.ERROR, f"YAML syntax error: {_short_yaml_error(exc)}",
                          file=file, line=_mark_line(exc, offset))
        except RecursionError:
            yield Finding(YAML_DEPTH, Severity.ERROR,
                          f"document {index + 1} nests too deeply to load", file=file, line=offset + 1)
        finally:
            loader.dispose()


def load_text(text: str, file: str, overlay: str = "") -> tuple[list[Resource], list[Finding]]:
    """Parse a multi-document YAML text into resources and input findings."""
    resources: list[Resource] = []
    findings: list[Finding] = []
    saw_document = False
    for item in iter_documents(text, file):
        if isinstance(item, Finding):
            findings.append(_with_overlay(item, overlay))
            saw_document = True
            continue
        index, data, lines = item
        if data is None:
            continue
        saw_document = True
        for res, problem in _to_resources(data, lines, file, index, overlay):
            if problem is not None:
                findings.append(problem)
            else:
                resources.append(res)
    if not saw_document:
        findings.append(Finding(EMPTY_INPUT, Severity.ERROR, "no YAML documents: the input is empty",
                                file=file, overlay=overlay))
    return resources, findings


def load_bytes(raw: bytes, file: str, overlay: str = "") -> tuple[list[Resource], list[Finding]]:
    text, problem = decode(raw, file)
    if problem is not None or text is None:
        return [], [_with_overlay(problem, overlay)] if problem is not None else []
    return load_text(text, file, overlay)


def _with_overlay(finding: Finding, overlay: str) -> Finding:
    if not overlay:
        return finding
    from dataclasses import replace
    return replace(finding, overlay=overlay)


def _to_resources(data: Any, lines: dict[str, int], file: str, index: int, overlay: str):
    line = lines.get("", 0)
    if not isinstance(data, dict):
        yield None, Finding(NOT_KUBERNETES, Severity.ERROR,
                            f"document {index + 1} is a {type(data).__name__}, not a Kubernetes "
                            "object (a mapping with apiVersion and kind)",
                            file=file, line=line, overlay=overlay)
        return
    missing = [key for key in ("apiVersion", "kind") if not isinstance(data.get(key), str)
               or not data.get(key)]
    if missing:
        name = data.get("metadata", {}).get("name", "") if isinstance(data.get("metadata"), dict) else ""
        what = f" ({data.get('kind') or 'object'} {name})" if name else ""
        yield None, Finding(NOT_KUBERNETES, Severity.ERROR,
                            f"document {index + 1}{what} has no {' or '.join(missing)}: "
                            "not a Kubernetes object",
                            file=file, line=line, overlay=overlay, kind=str(data.get("kind") or ""),
                            name=str(name or ""), path="/" + missing[0])
        return
    if data["kind"].endswith("List") and isinstance(data.get("items"), list):
        for i, item in enumerate(data["items"]):
            prefix = f"/items/{i}"
            sub_lines = {k[len(prefix):]: v for k, v in lines.items()
                         if k == prefix or k.startswith(prefix + "/")}
            yield from _to_resources(item, sub_lines, file, index, overlay)
        return
    yield Resource(data=data, file=file, doc_index=index, overlay=overlay, lines=lines), None
